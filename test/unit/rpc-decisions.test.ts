import { describe, expect, it } from "vitest";
import { explainSynthetic } from "../../shared/explain/synthetic.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { rpcFaultMatcher, faultMatcher } from "../../shared/resilience/fault.ts";
import { decideRoute, decideRpcRoute, RouteTable } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { requestKey } from "../../shared/routing/request-key.ts";
import { rpcTarget } from "../../shared/rpc/match.ts";
import { authorize, requestOf, rpcRequestOf } from "../../shared/security/authorize.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { methodLabel } from "../../workers/dataplane/telemetry/method-label.ts";
import { docs } from "../helpers/config-store.ts";

// The shared decisions a Workers RPC call goes through at its callee's edge (the same modules as
// a fetch's), table-driven on compiled snapshots as an edge reads them.

const manifest = `name: rpcd
services:
  - name: web
    versions: [{ name: v1, echo: true }]
    calls: [ratings]
  - name: ratings
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }, { name: v3, echo: true }]
`;

function compiled(yaml: string, exports?: Record<string, Record<string, string[]>>): Snapshot {
  const topology = topologyOf(parseManifest(manifest), exports ? { ratings: exports } : {});
  const { parsed, errors } = validateDocuments(docs(yaml).filter((d) => d !== null && d !== undefined));
  if (errors.length) throw new Error(JSON.stringify(errors));
  const snapshot = compileSnapshot(
    topology,
    "ratings-edge",
    parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
    1,
  );
  const read = Snapshot.parse(JSON.parse(JSON.stringify(snapshot)));
  expect(read).toEqual(JSON.parse(JSON.stringify(snapshot))); // every RPC field survives the edge's schema
  return read;
}

const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ratings }
spec:
  parentRefs: [{ kind: Service, name: ratings }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs: [{ name: ratings, version: v3 }]
    - matches: [{ rpc: { type: RegularExpression, method: "get.*" } }]
      backendRefs: [{ name: ratings, version: v1 }]
    - matches: [{ rpc: { method: getReviews } }, { rpc: { entrypoint: Admin } }]
      backendRefs: [{ name: ratings, version: v2 }]
    - backendRefs: [{ name: ratings, version: v3 }]
`;

describe("routing an RPC call", () => {
  const snapshot = compiled(route);
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const versionOf = (entrypoint: string | undefined, method: string) => {
    const d = decideRpcRoute(table, rpcTarget(entrypoint, method), "service");
    return d.ok ? d.routing.backends.map((b) => b.version).join() : d.reason;
  };

  it.each([
    [undefined, "getReviews", "v2", "an Exact rpc match beats a RegularExpression one"],
    [undefined, "getRating", "v1", "the RegularExpression rpc match"],
    ["Admin", "getRating", "v2", "Exact (on the entrypoint) before RegularExpression"],
    [undefined, "setRating", "v3", "no rpc match: the catch-all, never the path rule"],
  ])("%s.%s → %s (%s)", (entrypoint, method, version, _why) => {
    expect(versionOf(entrypoint, method)).toBe(version);
  });

  it("an rpc match never takes a fetch; the catch-all still does", () => {
    const fetchTo = (path: string) => {
      const d = decideRoute(table, factsOf("GET", new URL(`http://ratings${path}`), new Headers()), "service");
      return d.ok ? d.routing.backends.map((b) => b.version).join() : d.reason;
    };
    expect(fetchTo("/getReviews")).toBe("v3");
    expect(fetchTo("/api/x")).toBe("v3");
  });

  it("a service whose routes all match on HTTP: no route for an RPC call; a service without routes: the default split", () => {
    const http = compiled(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ratings }
spec:
  parentRefs: [{ kind: Service, name: ratings }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: /api } }], backendRefs: [{ name: ratings, version: v1 }] }]
`);
    expect(decideRpcRoute(new RouteTable(http.vhosts, http), rpcTarget(undefined, "getRating"), "service")).toEqual({
      ok: false,
      reason: "no rule of the routes matches the RPC call getRating",
    });
    const none = compiled("");
    const d = decideRpcRoute(new RouteTable(none.vhosts, none), rpcTarget(undefined, "getRating"), "service");
    expect(d.ok && d.routing.backends.map((b) => b.version)).toEqual(["v1", "v2", "v3"]);
  });
});

describe("authorizing an RPC call", () => {
  const policy = (action: string, operation: string) =>
    compiled(`apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: p }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  action: ${action}
  rules: [{ from: [{ source: { principals: [web] } }], to: [{ operation: ${operation} }] }]
`).authz;
  const rpc = (method: string, entrypoint?: string) => rpcRequestOf("web", rpcTarget(entrypoint, method));
  const fetch = requestOf("web", undefined, factsOf("GET", new URL("http://ratings/getRating"), new Headers()));

  it.each([
    ["ALLOW", "{ rpcMethods: [getRating] }", rpc("getRating"), true],
    ["ALLOW", "{ rpcMethods: [getRating] }", rpc("getReviews"), false],
    ["ALLOW", '{ rpcMethods: ["Admin.*"] }', rpc("reset", "Admin"), true],
    ["ALLOW", '{ rpcMethods: ["Admin.*"] }', rpc("reset"), false],
    ["ALLOW", "{ rpcMethods: [getRating] }", fetch, false], // rpcMethods never match a fetch
    ["ALLOW", '{ paths: ["/*"] }', rpc("getRating"), false], // paths never match a call: an HTTP rule does not open RPC
    ["ALLOW", '{ notRpcMethods: ["get*"] }', fetch, true], // a fetch has no RPC method: not… always matches
    ["DENY", '{ notPaths: ["/public/*"] }', rpc("getRating"), false], // a DENY with notPaths denies calls too (closed)
    ["DENY", '{ notRpcMethods: ["get*"] }', rpc("getRating"), true],
    ["DENY", '{ notRpcMethods: ["get*"] }', rpc("setRating"), false],
  ])("%s %s: allowed %#", (action, operation, request, allowed) => {
    expect(authorize(policy(action, operation), request).allowed).toBe(allowed);
  });
});

describe("fault injection, keys and labels for an RPC call", () => {
  const fault = (match: string) =>
    compiled(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  idempotentMethods: ["get*"]
  faultInjection: { ${match}abort: { httpStatus: 503 } }
`).policy!.faultInjection!;

  it("a fault matching rpcMethods applies to those calls only, never to a fetch; one matching headers to no call", () => {
    const byMethod = fault("match: { rpcMethods: [getRating] }, ");
    expect(rpcFaultMatcher(byMethod)(rpcTarget(undefined, "getRating"))).toBe(true);
    expect(rpcFaultMatcher(byMethod)(rpcTarget(undefined, "echo"))).toBe(false);
    expect(faultMatcher(byMethod)(new Headers())).toBe(false);
    const byHeader = fault("match: { headers: [{ name: x-a, value: '' }] }, ");
    expect(rpcFaultMatcher(byHeader)(rpcTarget(undefined, "getRating"))).toBe(false);
    expect(rpcFaultMatcher(fault(""))(rpcTarget(undefined, "getRating"))).toBe(true);
  });

  it("keys read an argument (or a field of one); a call has no header, host or claim", () => {
    const facts = { headers: new Headers(), caller: "web", args: [{ user: "ann" }, 7, new ReadableStream()] };
    expect(requestKey({ argument: 0, field: "user" }, facts)).toBe("ann");
    expect(requestKey({ argument: 1 }, facts)).toBe("7");
    expect(requestKey({ argument: 2 }, facts)).toBeUndefined();
    expect(requestKey({ caller: true }, facts)).toBe("web");
    expect(requestKey({ host: true }, facts)).toBeUndefined();
    expect(requestKey({ header: "x-user" }, facts)).toBeUndefined();
    expect(requestKey({ argument: 0 }, { headers: new Headers(), host: "a", caller: "web" })).toBeUndefined(); // a fetch has none
  });

  it("the method label is bounded: exported names, else (unknown); without a list, 64 names then (other)", () => {
    const known = compiled("", {
      v1: { default: ["getRating"], Admin: ["reset"] },
      v2: { default: ["getRating"] },
      v3: { default: [] },
    }).rpcMethods;
    expect(known).toEqual(["Admin.reset", "getRating"]);
    expect(methodLabel(known, "getRating", 200)).toBe("getRating");
    expect(methodLabel(known, "Admin.reset", 403)).toBe("Admin.reset");
    expect(methodLabel(known, "nope", 500)).toBe("(unknown)");
    expect(methodLabel(undefined, "getRating", 404)).toBe("(unknown)");
    const labels = Array.from({ length: 70 }, (_, i) => methodLabel(undefined, `m${i}`, 200));
    expect(labels.slice(0, 64)).toEqual(Array.from({ length: 64 }, (_, i) => `m${i}`));
    expect(labels.slice(64)).toEqual(Array(6).fill("(other)"));
    expect(compiled("", { v1: { default: ["getRating"] } }).rpcMethods).toBeUndefined(); // v2, v3 not known
  });
});

describe("explaining an RPC call", () => {
  const snapshot = compiled(
    route +
      `---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  idempotentMethods: [getRating]
`,
  );
  const explain = (method: string, caller = "web") =>
    explainSynthetic(
      { method: "GET", host: "localhost", path: "/", headers: {}, service: "ratings", caller, rpc: { method } },
      (e) => (e === "ratings-edge" ? snapshot : undefined),
    )[0].decisions.map((d) => `${d.stage}: ${d.decision}`);

  it("walks the RPC path with the fetch path's decisions", () => {
    expect(explain("getReviews")).toEqual([
      "authz: allowed: no AuthorizationPolicy targets this workload",
      "route: matched HTTPRoute/ratings rule 2 (rpc match)",
      "timeout: request timeout 15000 ms (mesh default)",
      "split: always ratings/v2",
    ]);
    expect(explain("getRating")).toContain("route: matched HTTPRoute/ratings rule 1 (rpc match)");
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { analyze } from "../../shared/analyze/index.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { callBindings } from "../../shared/manifest/schema.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { exportedMethodNames, exportsMethod } from "../../shared/rpc/exports.ts";
import { fullMethodName, isRpcMethodName, isRpcMethodPattern, parseMethodName } from "../../shared/rpc/method.ts";
import { namesMethod, prepareRpcMatch, rpcMatchRank, rpcTarget } from "../../shared/rpc/match.ts";
import { generate } from "../../scripts/lib/gen.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

afterAll(removeTempDirs);

// Workers RPC in the mesh's configuration: method names, the manifest's calls to named
// entrypoints, the resource fields (validated strictly) and analyze's warnings.

const errorsOf = (yaml: string) =>
  validateDocuments(splitDocuments(yaml).docs).errors.map((e) => `${e.path}: ${e.message}`);
const resourcesOf = (yaml: string) => {
  const { parsed, errors } = validateDocuments(splitDocuments(yaml).docs);
  expect(errors).toEqual([]);
  return parsed.map((p) => p.resource);
};

describe("RPC method names", () => {
  it.each([
    ["getRating", true],
    ["$x_1", true],
    ["fetch", false], // a handler, never an RPC call
    ["scheduled", false],
    ["constructor", false],
    ["then", false],
    ["a b", false],
    ["x".repeat(129), false],
  ])("%s is a method name: %s", (name, ok) => expect(isRpcMethodName(name)).toBe(ok));

  it("full names: the default entrypoint's methods bare, a named one's as Entrypoint.method", () => {
    expect(fullMethodName(undefined, "getRating")).toBe("getRating");
    expect(fullMethodName("default", "getRating")).toBe("getRating");
    expect(fullMethodName("Admin", "reset")).toBe("Admin.reset");
    expect(parseMethodName("Admin.reset")).toEqual({ entrypoint: "Admin", method: "reset" });
    expect(parseMethodName("getRating")).toEqual({ entrypoint: "default", method: "getRating" });
  });

  it.each([
    ["*", true],
    ["getRating", true],
    ["get*", true],
    ["*Rating", true],
    ["Admin.reset", true],
    ["Admin.*", true],
    ["*.reset", true],
    ["Admin.", false],
    [".reset", false],
    ["a.b.c", false],
    ["**", false],
    ["get*Rating", false],
    ["", false],
  ])("policy value %j: %s", (v, ok) => expect(isRpcMethodPattern(v)).toBe(ok));
});

describe("manifest: calls to named entrypoints", () => {
  const manifest = parseManifest(`name: m
services:
  - name: web
    versions: [{ name: v1, echo: true }]
    calls: [ratings, { service: ratings, entrypoint: Admin }, { service: ratings, binding: RATINGS_AGAIN }]
  - name: ratings
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]
`);

  it("expands each call to a binding: the short form, a named entrypoint (SERVICE_ENTRYPOINT), a chosen name", () => {
    expect(callBindings(manifest.services[0])).toEqual([
      { service: "ratings", binding: "RATINGS" },
      { service: "ratings", entrypoint: "Admin", binding: "RATINGS_ADMIN" },
      { service: "ratings", binding: "RATINGS_AGAIN" },
    ]);
    expect(topologyOf(manifest).services[0].calls).toEqual(["ratings"]);
  });

  it("gen: the caller's bindings carry the entrypoint in their props; the callee's edge binds each version's entrypoints; control reaches EdgeControl", () => {
    const dir = tempDir("isomesh-rpc-gen");
    const path = join(dir, "mesh.yaml");
    writeFileSync(
      path,
      `name: m
services:
  - name: web
    versions: [{ name: v1, echo: true }]
    calls: [ratings, { service: ratings, entrypoint: Admin }]
  - name: ratings
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]
`,
    );
    const mesh = generate(path, {
      beaconKeys: TEST_BEACON_KEYS,
      outDir: join(dir, "gen"),
      exports: { ratings: { v1: { default: ["getRating"], Admin: ["reset"] } } },
    });
    const worker = (name: string) => mesh.workers.find((w) => w.name === name)!;
    expect(worker("web-v1").config.services).toEqual([
      { binding: "RATINGS", service: "m-ratings-edge", props: { caller: "web", version: "v1" } },
      {
        binding: "RATINGS_ADMIN",
        service: "m-ratings-edge",
        props: { caller: "web", version: "v1", entrypoint: "Admin" },
      },
    ]);
    expect(worker("ratings-edge").config.services!.slice(1)).toEqual([
      { binding: "VERSION_V1", service: "m-ratings-v1" },
      { binding: "VERSION_V1__ADMIN", service: "m-ratings-v1", entrypoint: "Admin" },
      { binding: "VERSION_V2", service: "m-ratings-v2" },
      { binding: "VERSION_V2__ADMIN", service: "m-ratings-v2", entrypoint: "Admin" },
    ]);
    expect(worker("control").config.services).toContainEqual({
      binding: "EDGE_RATINGS_EDGE",
      service: "m-ratings-edge",
      entrypoint: "EdgeControl",
      props: { caller: "control" },
    });
    const topology = JSON.parse(worker("control").config.vars!.TOPOLOGY as string);
    expect(topology.services[1].exports).toEqual({ v1: { default: ["getRating"], Admin: ["reset"] } });
  });

  it.each([
    [
      "two calls with one binding",
      "calls: [ratings, { service: ratings }]",
      /calls\[1\]: binding RATINGS is also calls\[0\]'s/,
    ],
    [
      "an entrypoint that is no identifier",
      "calls: [{ service: ratings, entrypoint: 'not-a-class' }]",
      /calls\[0\]\.entrypoint: an entrypoint is the name of a class/,
    ],
    ["an unknown field", "calls: [{ service: ratings, entry: Admin }]", /calls\[0\]/],
    [
      "an unknown service in the long form",
      "calls: [{ service: nope }]",
      /calls\[0\]\.service: unknown service "nope"/,
    ],
  ])("rejects %s", (_name, calls, message) => {
    expect(() =>
      parseManifest(
        `name: m\nservices:\n  - name: web\n    versions: [{ name: v1, echo: true }]\n    ${calls}\n  - name: ratings\n    versions: [{ name: v1, echo: true }]\n`,
      ),
    ).toThrow(message);
  });
});

describe("resources: RPC fields", () => {
  const route = (match: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ratings }
spec:
  parentRefs: [{ kind: Service, name: ratings }]
  rules:
    - matches: [${match}]
      backendRefs: [{ name: ratings, version: v2 }]
`;
  const authz = (operation: string) => `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  action: DENY
  rules: [{ to: [{ operation: ${operation} }] }]
`;

  it("accepts GRPCRoute-style rpc matches, rpcMethods, idempotentMethods, fault matches by method and argument keys", () => {
    expect(errorsOf(route("{ rpc: { method: getRating } }"))).toEqual([]);
    expect(errorsOf(route("{ rpc: { entrypoint: Admin } }"))).toEqual([]);
    expect(errorsOf(route("{ rpc: { type: RegularExpression, method: 'get.*' } }"))).toEqual([]);
    expect(errorsOf(route("{ rpc: { method: getRating }, path: { type: PathPrefix, value: / } }"))).toEqual([]); // the default path is no condition
    expect(errorsOf(authz("{ rpcMethods: [getRating, 'Admin.*'], notRpcMethods: ['*Unsafe'] }"))).toEqual([]);
    expect(
      errorsOf(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  idempotentMethods: [getRating, "list*"]
  faultInjection: { match: { rpcMethods: [getRating] }, abort: { httpStatus: 503, percentage: 100 } }
  stickySession: { hashOn: { argument: 0, field: user } }
  rateLimits: [{ requests: 10, per: 1s, key: { argument: 0 } }]
`),
    ).toEqual([]);
  });

  it.each([
    ["an rpc match with neither name", route("{ rpc: {} }"), /rpc: an rpc match needs an entrypoint or a method/],
    [
      "an rpc match with a header match",
      route("{ rpc: { method: getRating }, headers: [{ name: x, value: y }] }"),
      /matches\[0\]\.headers: a match with rpc cannot also match on headers/,
    ],
    [
      "an rpc match with a path",
      route("{ rpc: { method: getRating }, path: { type: Exact, value: /x } }"),
      /matches\[0\]\.path: a match with rpc cannot also match on path/,
    ],
    [
      "an rpc match with an HTTP method",
      route("{ rpc: { method: getRating }, method: GET }"),
      /matches\[0\]\.method: a match with rpc cannot/,
    ],
    [
      "an Exact method that is no identifier",
      route("{ rpc: { method: 'get.*' } }"),
      /rpc\.method: method must be a JS identifier/,
    ],
    [
      "a regular expression that backtracks",
      route("{ rpc: { type: RegularExpression, method: '(a+)+' } }"),
      /rpc\.method: regular expression has nested quantifiers/,
    ],
    ["an unknown field in rpc", route("{ rpc: { methd: getRating } }"), /rpc\.methd/],
    [
      "an rpcMethods value that is no method",
      authz("{ rpcMethods: ['a.b.c'] }"),
      /rpcMethods\[0\]: an RPC method is `method`/,
    ],
  ])("rejects %s", (_name, yaml, message) => {
    expect(errorsOf(yaml).join("\n")).toMatch(message);
  });
});

describe("analyze: RPC methods nobody exports", () => {
  const manifest = parseManifest(`name: m
services:
  - name: web
    versions: [{ name: v1, echo: true }]
    calls: [ratings]
  - name: ratings
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]
  - name: details
    versions: [{ name: v1, echo: true }]
`);
  const topology = topologyOf(manifest, {
    ratings: { v1: { default: ["getRating"] }, v2: { default: ["getRating", "getReviews"], Admin: ["reset"] } },
  });

  it("knows what a service exports only when every version's exports are known", () => {
    expect(exportedMethodNames(topology.services[1].exports, ["v1", "v2"])).toEqual(
      new Set(["getRating", "getReviews", "Admin.reset"]),
    );
    expect(exportedMethodNames(topology.services[1].exports, ["v1", "v3"])).toBeUndefined();
    expect(exportsMethod(topology.services[1].exports, "v1", undefined, "getReviews")).toBe(false);
    expect(exportsMethod(topology.services[1].exports, "v2", "Admin", "reset")).toBe(true);
    expect(exportsMethod(topology.services[2].exports, "v1", undefined, "x")).toBeUndefined();
  });

  it("warns about a policy, an idempotent list or a route naming a method no version exports; not about ones that exist or services it cannot know", () => {
    const { warnings, errors } = analyze(
      topology,
      resourcesOf(`apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ratings-rpc }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  rules: [{ to: [{ operation: { rpcMethods: [getRating, getRatings, "Admin.*", "Other.*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: details-rpc }
spec:
  targetRefs: [{ kind: Service, name: details }]
  rules: [{ to: [{ operation: { rpcMethods: [anything] } }] }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  idempotentMethods: ["get*", deleteAll]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ratings }
spec:
  parentRefs: [{ kind: Service, name: ratings }]
  rules:
    - matches: [{ rpc: { method: getReviews } }, { rpc: { method: getReview } }, { rpc: { type: RegularExpression, entrypoint: Adm.* } }]
      backendRefs: [{ name: ratings, version: v2 }]
`),
    );
    expect(errors).toEqual([]);
    expect(warnings.map((w) => `${w.resource} ${w.path}: ${w.message}`)).toEqual([
      'AuthorizationPolicy/ratings-rpc spec.rules[0].to[0].operation.rpcMethods[1]: no version of ratings exports an RPC method matching "getRatings" (exported: Admin.reset, getRating, getReviews)',
      'AuthorizationPolicy/ratings-rpc spec.rules[0].to[0].operation.rpcMethods[3]: no version of ratings exports an RPC method matching "Other.*" (exported: Admin.reset, getRating, getReviews)',
      'TrafficPolicy/ratings spec.idempotentMethods[1]: no version of ratings exports an RPC method matching "deleteAll" (exported: Admin.reset, getRating, getReviews)',
      "HTTPRoute/ratings spec.rules[0].matches[1].rpc: no version of ratings exports an RPC method this matches (exported: Admin.reset, getRating, getReviews)",
    ]);
  });

  it("warns that the gateway never sees an RPC call", () => {
    const { warnings } = analyze(
      topology,
      resourcesOf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [{ rpc: { method: getRating } }], backendRefs: [{ name: ratings }] }]
`),
    );
    expect(warnings.map((w) => w.message)).toContain(
      "the gateway receives no Workers RPC (the internet calls over HTTP): this match never matches there",
    );
  });
});

describe("matching an RPC call", () => {
  const admin = rpcTarget("Admin", "reset");
  const get = rpcTarget(undefined, "getRating");

  it("names the call: default entrypoint bare, a named one Entrypoint.method", () => {
    expect(get).toEqual({ entrypoint: "default", method: "getRating", fullName: "getRating" });
    expect(admin.fullName).toBe("Admin.reset");
  });

  it.each([
    [{ type: "Exact", method: "getRating" }, get, true],
    [{ type: "Exact", method: "getRating" }, admin, false],
    [{ type: "Exact", entrypoint: "Admin" }, admin, true],
    [{ type: "Exact", entrypoint: "default", method: "getRating" }, get, true],
    [{ type: "RegularExpression", method: "get.*" }, get, true],
    [{ type: "RegularExpression", method: "get" }, get, false], // a full match, as Gateway API's
    [{ type: "RegularExpression", entrypoint: "Adm.*", method: "re.*" }, admin, true],
  ] as const)("%j matches %j: %s", (m, call, ok) => expect(prepareRpcMatch(m)(call)).toBe(ok));

  it("ranks as GRPCRoute: exact first, then the longer entrypoint, then the longer method", () => {
    const ranked = [
      { type: "RegularExpression", method: "get.*" },
      { type: "Exact", method: "getRating" },
      { type: "Exact", entrypoint: "Admin", method: "reset" },
      { type: "Exact", method: "get" },
    ] as const;
    const order = [...ranked].sort((a, b) => {
      const [x, y] = [rpcMatchRank(a), rpcMatchRank(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    });
    expect(order).toEqual([ranked[2], ranked[1], ranked[3], ranked[0]]);
  });

  it("policy values name methods with Istio's syntax", () => {
    expect(namesMethod(["get*"], get)).toBe(true);
    expect(namesMethod(["Admin.*"], admin)).toBe(true);
    expect(namesMethod(["*"], admin)).toBe(true);
    expect(namesMethod(["reset"], admin)).toBe(false); // Admin's reset is Admin.reset
    expect(namesMethod(undefined, get)).toBe(false);
  });
});

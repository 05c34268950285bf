import { describe, expect, it } from "vitest";
import { MeshError } from "../../../shared/errors.ts";
import { explainSynthetic, SyntheticRequest } from "../../../shared/explain/synthetic.ts";
import { compileFor, testEdge } from "../../helpers/edge.ts";
import { buildEdge } from "../../../workers/dataplane/pipelines.ts";
import { callExchange } from "../../../workers/dataplane/request.ts";
import { ResilienceState } from "../../../workers/dataplane/resilience/state.ts";
import { TelemetryRecorder } from "../../../workers/dataplane/telemetry/recorder.ts";
import { bindingTarget, type Target } from "../../../workers/dataplane/upstream.ts";

// External authorization (CUSTOM AuthorizationPolicies, Envoy's ext_authz in HTTP mode) through a
// service edge's real pipeline in process; the provider is a fake binding that records each check.
// Names follow Istio's ext-authz task and Envoy's ext_authz HTTP tests where they define the case.

const manifest = (provider: string) => `name: xa
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
  - { name: authz, versions: [{ name: v1, echo: true }] }
meshConfig:
  extensionProviders:
    - name: p
      envoyExtAuthzHttp:
        service: authz
${provider
  .trim()
  .split("\n")
  .map((l) => `        ${l}`)
  .join("\n")}
`;

const BASE = `pathPrefix: /check
timeout: 200ms
includeRequestHeadersInCheck: [authorization, x-token, "x-ctx-*"]
headersToUpstreamOnAllow: [x-user, "x-auth-*"]
headersToDownstreamOnDeny: [x-deny-reason]
headersToDownstreamOnAllow: [set-cookie]`;

const custom = (rules = "[{}]", name = "ext") => `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ${name} }
spec:
  targetRefs: [{ kind: Service, name: web }]
  action: CUSTOM
  provider: { name: p }
  rules: ${rules}
`;

type Check = { method: string; url: string; headers: Record<string, string>; body: string };
type Answer = (check: Check) => Response | Promise<Response>;

/** A provider binding that records each check and answers with `answer`. */
function provider(answer: Answer) {
  const checks: Check[] = [];
  const fetcher = {
    fetch: async (input: RequestInfo, init?: RequestInit) => {
      const r = new Request(input, init);
      const check = {
        method: r.method,
        url: r.url,
        headers: Object.fromEntries(r.headers),
        body: r.body ? await r.text() : "",
      };
      checks.push(check);
      if (init?.signal?.aborted) throw init.signal.reason;
      return answer(check);
    },
  } as unknown as Fetcher;
  return { checks, reach: (service: string) => (service === "authz" ? bindingTarget(fetcher) : undefined) };
}

const allowWith = (headers: Record<string, string>) => () => new Response(null, { status: 200, headers });
const edgeWith = (opts: { provider?: string; yaml?: string; answer: Answer }) => {
  const p = provider(opts.answer);
  const snapshot = compileFor(manifest(opts.provider ?? BASE), "web-edge", opts.yaml ?? custom());
  return { edge: testEdge(snapshot, { provider: p.reach }), checks: p.checks };
};
type Echo = { path: string; method: string; headers: Record<string, string> };

describe("ext_authz: the check", () => {
  it("carries the method, the pathPrefix and path with its query, the host, and only the listed headers", async () => {
    const { edge, checks } = edgeWith({ answer: allowWith({}) });
    const res = await edge.request("/items/7?q=1", {
      method: "DELETE",
      headers: { authorization: "Bearer t", "x-ctx-tenant": "acme", cookie: "secret=1", "x-other": "no" },
    });
    expect(res.status).toBe(200);
    expect(checks).toHaveLength(1);
    expect(checks[0].method).toBe("DELETE");
    expect(checks[0].url).toBe("https://web/check/items/7?q=1");
    expect(checks[0].headers.host).toBe("web");
    expect(checks[0].headers).toMatchObject({ authorization: "Bearer t", "x-ctx-tenant": "acme" });
    expect(checks[0].headers).not.toHaveProperty("cookie");
    expect(checks[0].headers).not.toHaveProperty("x-other");
    expect(checks[0].headers["x-isomesh-deadline-ms"]).toBe("200");
  });

  it("a request no CUSTOM rule matches is not checked", async () => {
    const { edge, checks } = edgeWith({
      yaml: custom("[{ to: [{ operation: { paths: [/admin/*] } }] }]"),
      answer: allowWith({}),
    });
    expect((await edge.request("/public")).status).toBe(200);
    expect(checks).toHaveLength(0);
    expect((await edge.request("/admin/x")).status).toBe(200);
    expect(checks).toHaveLength(1);
  });

  it("an edge without a CUSTOM policy asks nothing and leaves the stage out", async () => {
    const snapshot = compileFor(manifest(BASE), "web-edge", "");
    expect(snapshot.extAuthz).toBeUndefined();
    const p = provider(allowWith({}));
    const res = await testEdge(snapshot, { provider: p.reach }).request("/", { headers: { "x-user": "kept" } });
    expect(((await res.json()) as Echo).headers["x-user"]).toBe("kept");
    expect(p.checks).toHaveLength(0);
  });
});

describe("ext_authz: allowed (2xx)", () => {
  it("sets the provider's listed headers upstream and drops the client's copies (no spoofing)", async () => {
    const { edge } = edgeWith({ answer: allowWith({ "x-user": "ann", "x-auth-role": "admin", "x-not-listed": "1" }) });
    const res = await edge.request("/", { headers: { "x-user": "mallory", "x-auth-level": "root" } });
    const echo = (await res.json()) as Echo;
    expect(echo.headers["x-user"]).toBe("ann");
    expect(echo.headers["x-auth-role"]).toBe("admin");
    expect(echo.headers).not.toHaveProperty("x-auth-level");
    expect(echo.headers).not.toHaveProperty("x-not-listed");
  });

  it("drops the client's copies of the provider's headers on requests that are not checked too", async () => {
    const { edge } = edgeWith({
      yaml: custom("[{ to: [{ operation: { paths: [/admin] } }] }]"),
      answer: allowWith({}),
    });
    const echo = (await (await edge.request("/public", { headers: { "x-user": "admin" } })).json()) as Echo;
    expect(echo.headers).not.toHaveProperty("x-user");
  });

  it("keeps what the gateway's check of the same provider set; an app's copies go", async () => {
    const { edge } = edgeWith({
      yaml: custom("[{ to: [{ operation: { paths: [/admin] } }] }]"),
      answer: allowWith({}),
    });
    const vouched = { "x-user": "ann", "x-isomesh-ext-authz": "p" };
    const fromGateway = (await (await edge.request("/public", { headers: vouched })).json()) as Echo;
    expect(fromGateway.headers["x-user"]).toBe("ann");
    const fromApp = (await (await edge.request("/public", { headers: vouched, caller: "front" })).json()) as Echo;
    expect(fromApp.headers).not.toHaveProperty("x-user");
    const otherProvider = { "x-user": "ann", "x-isomesh-ext-authz": "q" };
    const notVouched = (await (await edge.request("/public", { headers: otherProvider })).json()) as Echo;
    expect(notVouched.headers).not.toHaveProperty("x-user");
  });

  it("any 2xx allows; headersToDownstreamOnAllow reach the client", async () => {
    const { edge } = edgeWith({
      answer: () => {
        const h = new Headers();
        h.append("set-cookie", "a=1");
        h.append("set-cookie", "b=2");
        return new Response(null, { status: 204, headers: h });
      },
    });
    const res = await edge.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });
});

describe("ext_authz: denied (anything else)", () => {
  it("the client gets the provider's status and body, with the listed headers and Istio's always-passed ones", async () => {
    const { edge } = edgeWith({
      answer: () =>
        new Response("no token", {
          status: 401,
          headers: {
            "www-authenticate": 'Bearer realm="x"',
            "x-deny-reason": "missing",
            "x-internal-secret": "s3cr3t",
            "x-isomesh-backend": "authz/v1",
          },
        }),
    });
    const res = await edge.request("/", { explain: true });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe("no token");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="x"');
    expect(res.headers.get("x-deny-reason")).toBe("missing");
    expect(res.headers.has("x-internal-secret")).toBe(false);
    expect(res.headers.get("x-isomesh-backend")).toBeNull();
    expect(edge.sent).toHaveLength(0);
    expect(edge.decisions.find((d) => d.stage === "extAuthz")).toMatchObject({ policy: "ext", provider: "p" });
    expect(JSON.stringify(edge.decisions)).toMatch(/CUSTOM policy ext rule 0: provider p denied \(401\)/);
  });

  it("without headersToDownstreamOnDeny, every header of the denial but the mesh's own goes to the client", async () => {
    const { edge } = edgeWith({
      provider: "timeout: 200ms",
      answer: () => new Response(null, { status: 302, headers: { location: "https://login.example/", "x-a": "1" } }),
    });
    const res = await edge.request("/");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://login.example/");
    expect(res.headers.get("x-a")).toBe("1");
  });

  it("CUSTOM comes before DENY: the provider is asked first, and DENY still applies after it allows", async () => {
    const deny = `---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: no-admin }
spec:
  targetRefs: [{ kind: Service, name: web }]
  action: DENY
  rules: [{ to: [{ operation: { paths: [/admin] } }] }]
`;
    const denied = edgeWith({ yaml: custom() + deny, answer: () => new Response("nope", { status: 403 }) });
    const res = await denied.edge.request("/admin");
    expect(await res.text()).toBe("nope");
    const allowed = edgeWith({ yaml: custom() + deny, answer: allowWith({}) });
    const after = await allowed.edge.request("/admin");
    expect(after.status).toBe(403);
    expect(after.headers.get("x-isomesh-error")).toBe("rbac_denied");
    expect(allowed.checks).toHaveLength(1);
  });
});

describe("ext_authz: failures follow failOpen", () => {
  const failing = () => {
    throw new Error("binding broke");
  };
  it("closed by default: statusOnError (403) with ext_authz_error", async () => {
    const { edge } = edgeWith({ answer: failing });
    const res = await edge.request("/");
    expect(res.status).toBe(403);
    expect(res.headers.get("x-isomesh-error")).toBe("ext_authz_error");
    expect(edge.sent).toHaveLength(0);
  });

  it("statusOnError sets the status; failOpen lets the request through", async () => {
    const closed = edgeWith({ provider: "statusOnError: 503", answer: failing });
    expect((await closed.edge.request("/")).status).toBe(503);
    const open = edgeWith({ provider: "failOpen: true", answer: failing });
    expect((await open.edge.request("/")).status).toBe(200);
    expect(open.edge.sent).toHaveLength(1);
  });

  it("a provider that does not answer in its timeout fails (no fixed sleep: it never answers)", async () => {
    const { edge } = edgeWith({ provider: "timeout: 50ms", answer: () => new Promise<Response>(() => {}) });
    const res = await edge.request("/");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/timeout/);
  });

  it("an answer the provider's edge made for it (x-isomesh-error) is a failure, not a denial", async () => {
    const { edge } = edgeWith({
      provider: "failOpen: true",
      answer: () => new Response("{}", { status: 502, headers: { "x-isomesh-error": "upstream_failure" } }),
    });
    expect((await edge.request("/")).status).toBe(200);
  });

  it("no binding to the provider: a failure", async () => {
    const snapshot = compileFor(manifest(BASE), "web-edge", custom());
    const res = await testEdge(snapshot, { provider: () => undefined }).request("/");
    expect(res.status).toBe(403);
    expect(res.headers.get("x-isomesh-error")).toBe("ext_authz_error");
  });
});

describe("ext_authz: includeRequestBodyInCheck", () => {
  const body = "0123456789abcdef";
  it("the check carries the body up to maxRequestBytes; the upstream gets the whole body", async () => {
    const { edge, checks } = edgeWith({
      provider: "includeRequestBodyInCheck: { maxRequestBytes: 64 }",
      answer: allowWith({}),
    });
    const res = await edge.request("/", { method: "POST", body });
    expect(res.status).toBe(200);
    expect(checks[0].body).toBe(body);
    expect(checks[0].headers["x-envoy-auth-partial-body"]).toBe("false");
    expect(await edge.sent[0].request.text()).toBe(body);
  });

  it("a larger body: 413 without allowPartialMessage, its first bytes with it", async () => {
    const strict = edgeWith({ provider: "includeRequestBodyInCheck: { maxRequestBytes: 4 }", answer: allowWith({}) });
    const refused = await strict.edge.request("/", { method: "POST", body });
    expect(refused.status).toBe(413);
    expect(refused.headers.get("x-isomesh-error")).toBe("request_too_large");
    expect(strict.checks).toHaveLength(0);
    const partial = edgeWith({
      provider: "includeRequestBodyInCheck: { maxRequestBytes: 4, allowPartialMessage: true }",
      answer: allowWith({}),
    });
    expect((await partial.edge.request("/", { method: "POST", body })).status).toBe(200);
    expect(partial.checks[0].body).toBe("0123");
    expect(partial.checks[0].headers["x-envoy-auth-partial-body"]).toBe("true");
    expect(await partial.edge.sent[0].request.text()).toBe(body);
  });
});

describe("ext_authz: Workers RPC", () => {
  it("a call is checked as gRPC is through Envoy: POST /<method>; a denial is the caller's error", async () => {
    // Its exports known, so its metrics' method label leaves the isolate-wide bounded set alone (rpc-decisions.test.ts).
    const snapshot = { ...compileFor(manifest(BASE), "web-edge", custom()), rpcMethods: ["getRating"] };
    const answers = [403, 200];
    const p = provider(() => new Response(null, { status: answers.shift()! }));
    const called: string[] = [];
    const target: Target = {
      fetch: () => Promise.reject(new Error("no fetch")),
      stub: () => ({ getRating: (id: number) => (called.push(`getRating(${id})`), Promise.resolve(5)) }),
    };
    const pipelines = buildEdge(snapshot, {
      recorder: new TelemetryRecorder(),
      flush: () => {},
      accessLogRate: 0,
      resilience: new ResilienceState(),
      authn: { remotes: new Map(), fetcher: () => Promise.reject(new Error("no network")) },
      reach: () => target,
      provider: p.reach,
    });
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const call = () => pipelines.call(callExchange({ method: "getRating", args: [1] }, ctx, { caller: "reviews" }));
    const refused = await call().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MeshError);
    expect(refused).toMatchObject({ code: "ext_authz_denied", status: 403 });
    expect(p.checks[0]).toMatchObject({ method: "POST", url: "https://web/check/getRating" });
    expect(called).toEqual([]);
    expect(await call()).toEqual({ value: 5 });
    expect(called).toEqual(["getRating(1)"]);
  });
});

describe("ext_authz: synthetic explain", () => {
  const snapshot = compileFor(manifest(BASE), "web-edge", custom("[{ to: [{ operation: { paths: [/admin] } }] }]"));
  const explain = (path: string) =>
    explainSynthetic(SyntheticRequest.parse({ service: "web", caller: "gateway", path }), (e) =>
      e === "web-edge" ? snapshot : undefined,
    )[0].decisions.filter((d) => d.stage === "extAuthz");

  it("says whether the provider would be asked, without asking it", () => {
    expect(explain("/admin")).toEqual([
      expect.objectContaining({
        policy: "ext",
        rule: 0,
        provider: "p",
        decision: expect.stringMatching(/would be asked/),
      }),
    ]);
    expect(explain("/public")).toEqual([
      expect.objectContaining({ decision: "no CUSTOM rule matched: provider p not asked" }),
    ]);
  });
});

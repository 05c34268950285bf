import { describe, expect, it } from "vitest";
import { explainSynthetic, SyntheticRequest } from "../../../shared/explain/synthetic.ts";
import { validateDocuments } from "../../../shared/resources/parse.ts";
import { docs } from "../../helpers/config-store.ts";
import { compileFor, testMesh } from "../../helpers/edge.ts";

// backendRefs[].filters (Gateway API HTTPBackendRef.filters): applied only when that backend is
// picked, after the rule's filters, on gateway and GAMMA routes; explain shows them.

const manifest = `name: backend-filters
services:
  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }] }
  - { name: shadow, versions: [{ name: v1, echo: true }] }
`;
const set = (name: string, value: string) =>
  `{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: ${name}, value: ${value} }] } }`;
const config = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ingress }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /weights } }]
      backendRefs:
        - { name: web, weight: 1, filters: [${set("backend", "web")}] }
        - { name: api, weight: 1, filters: [${set("backend", "api")}] }
    - matches: [{ path: { type: PathPrefix, value: /order } }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{ name: x-level, value: rule }, { name: x-rule-only, value: "1" }]
            add: [{ name: x-added, value: rule }]
        - { type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-answered, value: rule }] } }
      backendRefs:
        - name: api
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [{ name: x-level, value: backend }], remove: [x-rule-only] }
            - { type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-answered, value: api }] } }
    - matches: [{ path: { type: PathPrefix, value: /full } }]
      backendRefs:
        - name: api
          filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /rewritten-full } } }]
    - matches: [{ path: { type: PathPrefix, value: /prefix } }]
      backendRefs:
        - name: api
          filters:
            - type: URLRewrite
              urlRewrite: { hostname: api.internal, path: { type: ReplacePrefixMatch, replacePrefixMatch: /rewritten-prefix } }
    - matches: [{ path: { type: PathPrefix, value: /moved } }]
      backendRefs:
        - name: api
          filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /redirected } } }]
    - matches: [{ path: { type: PathPrefix, value: /mirrored } }]
      backendRefs:
        - { name: web, weight: 0 }
        - name: api
          filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: shadow } } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /pinned } }]
      backendRefs:
        - { name: web, version: v1, filters: [${set("backend", "v1")}] }
        - { name: web, version: v2, filters: [${set("backend", "v2")}] }
    - backendRefs: [{ name: web, filters: [${set("x-any-version", "yes")}] }]
`;
type Echo = { service: string; version: string; path: string; host: string; headers: Record<string, string> };
const json = async (r: Response) => (await r.json()) as Echo;

describe("backendRef filters through the gateway", () => {
  const mesh = testMesh(manifest, config);

  it("gives each weighted backend its own headers: the header always names the backend that answered", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const body = await json(await mesh.request("/weights"));
      expect(body.headers.backend).toBe(body.service);
      seen.add(body.service);
    }
    expect([...seen].sort()).toEqual(["api", "web"]);
  });

  it("runs after the rule's filters: the backend's set wins, its remove removes what the rule set, its response header wins", async () => {
    const res = await mesh.request("/order");
    const body = await json(res);
    expect(body.headers["x-level"]).toBe("backend");
    expect(body.headers["x-added"]).toBe("rule");
    expect(body.headers["x-rule-only"]).toBeUndefined();
    expect(res.headers.get("x-answered")).toBe("api");
  });

  it("rewrites the path (full and prefix) and host for the backend it is on", async () => {
    expect((await json(await mesh.request("/full/original?q=1"))).path).toBe("/rewritten-full?q=1");
    const prefixed = await json(await mesh.request("/prefix/original"));
    expect(prefixed.path).toBe("/rewritten-prefix/original");
    expect(prefixed.host).toBe("api.internal");
  });

  it("redirects instead of calling the backend", async () => {
    const before = mesh.edge("api-edge").sent.length;
    const res = await mesh.request("/moved/page", { host: "shop.example" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("http://shop.example/redirected/page");
    expect(mesh.edge("api-edge").sent.length).toBe(before);
  });

  it("mirrors a copy of what is sent to that backend", async () => {
    await mesh.request("/mirrored/x");
    await mesh.gateway.settle();
    const copies = mesh.gateway.sent.filter((s) => s.backend === "shadow");
    expect(copies).toHaveLength(1);
    expect(new URL(copies[0].request.url).pathname).toBe("/mirrored/x");
  });

  it("records what the picked backend's filters did (explain --send)", async () => {
    await mesh.gateway.request("/order", { explain: true });
    expect(mesh.gateway.decisions.filter((d) => d.stage === "backendFilters")).toEqual([
      expect.objectContaining({ decision: "modified request headers", backend: "api", remove: ["x-rule-only"] }),
    ]);
  });
});

describe("backendRef filters on a GAMMA route (service edge)", () => {
  const mesh = testMesh(manifest, config);

  it("gives each version its own headers", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const body = await json(await mesh.edge("web-edge").request("/pinned"));
      expect(body.headers.backend).toBe(body.version);
      seen.add(body.version);
    }
    expect([...seen].sort()).toEqual(["v1", "v2"]);
  });

  it("keeps a version-less backendRef's filters on every version of the default split", async () => {
    for (let i = 0; i < 10; i++)
      expect((await json(await mesh.edge("web-edge").request("/other"))).headers["x-any-version"]).toBe("yes");
  });
});

describe("synthetic explain shows each weighted backend's filters and follows each with its own request", () => {
  const snapshots = new Map(
    ["gateway", "web-edge", "api-edge", "shadow-edge"].map((e) => [e, compileFor(manifest, e, config)]),
  );
  const explain = (request: object) => explainSynthetic(SyntheticRequest.parse(request), (e) => snapshots.get(e));

  it("at the gateway", () => {
    const [gateway] = explain({ path: "/weights" });
    expect(gateway.decisions.filter((d) => d.stage === "backendFilters")).toEqual([
      expect.objectContaining({ backend: "web", set: [{ name: "backend", value: "web" }] }),
      expect.objectContaining({ backend: "api", set: [{ name: "backend", value: "api" }] }),
    ]);
    expect(gateway.children.map((c) => c.edge)).toEqual(["web-edge", "api-edge"]);
    const [redirected] = explain({ path: "/moved/x" });
    expect(redirected.decisions.find((d) => d.stage === "backendFilters")?.decision).toMatch(/^redirect 302 to /);
    expect(redirected.children).toEqual([]);
    const [mirrored] = explain({ path: "/mirrored/x" });
    expect(mirrored.decisions.filter((d) => d.stage === "mirror").map((d) => d.decision)).toEqual([
      "would mirror 100% of the requests sent to api to shadow",
    ]);
  });

  it("on a service edge, per version", () => {
    const [hop] = explain({ service: "web", caller: "api", path: "/pinned" });
    expect(hop.decisions.filter((d) => d.stage === "backendFilters").map((d) => d.backend)).toEqual([
      "web/v1",
      "web/v2",
    ]);
  });
});

describe("backendRef filters are validated as a rule's are", () => {
  const route = (backendRef: string, match = "{ path: { type: PathPrefix, value: /a } }") =>
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [${match}], backendRefs: [${backendRef}] }]
`;
  const errorsOf = (yaml: string) =>
    validateDocuments(docs(yaml)).errors.map((e) => ({ path: e.path, message: e.message }));

  it("refuses a filter type twice, RequestRedirect with URLRewrite, and ReplacePrefixMatch without a PathPrefix match", () => {
    expect(errorsOf(route(`{ name: api, filters: [${set("a", "one")}, ${set("b", "two")}] }`))).toEqual([
      {
        path: "spec.rules[0].backendRefs[0].filters",
        message: "filter RequestHeaderModifier may appear at most once per backendRef",
      },
    ]);
    const prefix = `{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }`;
    expect(errorsOf(route(`{ name: api, filters: [${prefix}] }`, "{ path: { type: Exact, value: /a } }"))).toEqual([
      {
        path: "spec.rules[0].backendRefs[0].filters[0]",
        message: "ReplacePrefixMatch requires every match to be a PathPrefix match",
      },
    ]);
    expect(
      errorsOf(
        route(`{ name: api, filters: [${prefix}, { type: RequestRedirect, requestRedirect: { port: 8080 } }] }`),
      ),
    ).toContainEqual({
      path: "spec.rules[0].backendRefs[0].filters",
      message: "RequestRedirect and URLRewrite cannot be used together",
    });
  });

  it("refuses unknown fields inside them", () => {
    expect(
      errorsOf(
        route(`{ name: api, filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { sett: [] } }] }`),
      )[0].path,
    ).toBe("spec.rules[0].backendRefs[0].filters[0].requestHeaderModifier.sett");
  });
});

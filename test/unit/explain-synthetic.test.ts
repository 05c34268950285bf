import { describe, expect, it } from "vitest";
import type { Decision } from "../../shared/explain/record.ts";
import { explainSynthetic, type SyntheticHop, SyntheticRequest } from "../../shared/explain/synthetic.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { edgesOf } from "../../shared/snapshot/scope.ts";
import { compileFor, testMesh } from "../helpers/edge.ts";

// Synthetic explain walks each hop's pipeline (shared/pipeline.ts) with the edge's own decisions:
// what it says must be what the edge does (the last block sends the same request through the
// in-process edges and compares).

const manifest = `name: explain
meshConfig: { defaultTimeouts: { request: 1s } }
services:
  - { name: front, versions: [{ name: v1, echo: true }], calls: [reviews] }
  - { name: reviews, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
  - { name: shop, versions: [{ name: v1, echo: true }], egress: true }
`;
const config = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: front }]
    - matches: [{ path: { type: Exact, value: /shop } }]
      backendRefs: [{ name: front }]
    - matches: [{ path: { type: PathPrefix, value: /slow } }]
      backendRefs: [{ name: front }]
      timeouts: { request: 4s }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: reviews, version: v2 }]
    - backendRefs: [{ name: reviews, version: v1, weight: 80 }, { name: reviews, version: v2, weight: 20 }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: reviews-callers }
spec:
  targetRefs: [{ kind: Service, name: reviews }]
  rules: [{ from: [{ source: { principals: [front] } }] }]
---
apiVersion: isomesh.dev/v1
kind: ExternalService
metadata: { name: books }
spec:
  hosts: [books.example]
  ports: [{ number: 8080, protocol: HTTP }]
  timeouts: { request: 300ms }
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: books-callers }
spec:
  targetRefs: [{ kind: Gateway, name: egress }]
  rules: [{ from: [{ source: { principals: [shop] } }] }]
`;
const snapshots = new Map(
  edgesOf(topologyOf(parseManifest(manifest))).map((e) => [e, compileFor(manifest, e, config)]),
);
const explain = (request: object) => explainSynthetic(SyntheticRequest.parse(request), (e) => snapshots.get(e));
const stage = (hop: SyntheticHop, name: string) => hop.decisions.filter((d) => d.stage === name);

describe("synthetic explain", () => {
  it("gives the exact weights where a real request shows one pick", () => {
    const [hop] = explain({ service: "reviews", caller: "front" });
    expect(stage(hop, "split")[0]).toMatchObject({
      decision: "weighted: reviews/v1 80%, reviews/v2 20%",
      shares: { "reviews/v1": 0.8, "reviews/v2": 0.2 },
    });
  });

  it("stops at a denial, as the edge answers there", () => {
    const [hop] = explain({ service: "reviews", caller: "gateway" });
    expect(stage(hop, "authz")[0]).toMatchObject({
      decision: "no ALLOW policy matched",
      error: "rbac_denied",
      status: 403,
    });
    expect(stage(hop, "route")).toEqual([]);
    const [gateway] = explain({ path: "/admin/x" });
    expect(stage(gateway, "authz")[0]).toMatchObject({ policy: "deny-admin", rule: 0, status: 403 });
    expect(gateway.children).toEqual([]);
  });

  it("says which timeout applies at each hop: the route's, then the caller's deadline; else the mesh default", () => {
    const [gateway] = explain({ path: "/slow" });
    expect(stage(gateway, "timeout")).toEqual([expect.objectContaining({ requestMs: 4000, source: "route" })]);
    expect(stage(gateway.children[0], "timeout")).toEqual([
      expect.objectContaining({ requestMs: 4000, source: "caller's deadline" }),
    ]);
    expect(stage(explain({ path: "/x" })[0], "timeout")).toEqual([
      expect.objectContaining({ requestMs: 1000, source: "mesh default" }),
    ]);
  });

  it("explains a call out: allow-list, the ExternalService's timeout, authorization, then the split", () => {
    const url = "http://books.example:8080/ok";
    expect(explain({ service: "egress", caller: "shop", url })[0].decisions.map((d) => d.stage)).toEqual([
      "egress",
      "timeout",
      "authz",
      "split",
    ]);
    expect(explain({ service: "egress", caller: "intruder", url })[0].decisions.at(-1)).toMatchObject({
      stage: "authz",
      error: "rbac_denied",
    });
    expect(
      explain({
        service: "egress",
        caller: "shop",
        url: "https://unknown.example/",
        headers: { host: "books.example" },
      })[0].decisions,
    ).toEqual([
      expect.objectContaining({ error: "egress_denied", decision: "no ExternalService declares host unknown.example" }),
    ]);
    expect(
      explain({ service: "egress", caller: "shop", url: "http://books.example/ok" })[0].decisions[0],
    ).toMatchObject({ stage: "egress", error: "egress_denied" });
  });
});

describe("synthetic explain and the edge decide alike", () => {
  const mesh = testMesh(manifest, config);
  const same = (d: Decision) => ({
    stage: d.stage,
    decision: d.decision,
    route: d.route,
    rule: d.rule,
    beat: d.beat,
    policy: d.policy,
    requestMs: d.requestMs,
  });
  const compared = ["route", "authz", "timeout", "normalize", "filters"];

  it.each([
    ["at the gateway", { path: "/shop" }, "gateway", "/shop", {}],
    ["at the gateway, denied", { path: "/admin/x" }, "gateway", "/admin/x", {}],
    [
      "at a service edge east-west",
      { service: "reviews", caller: "front", headers: { "end-user": "jason" } },
      "reviews-edge",
      "/",
      { caller: "front", headers: { "end-user": "jason" } },
    ],
    [
      "at a service edge, denied",
      { service: "reviews", caller: "gateway" },
      "reviews-edge",
      "/",
      { caller: "gateway" },
    ],
  ])("%s", async (_n, request, edgeName, path, init) => {
    const edge = mesh.edge(edgeName);
    await edge.request(path, { ...init, explain: true });
    const real = edge.decisions.filter((d) => compared.includes(d.stage)).map(same);
    const synthetic = explain(request)[0]
      .decisions.filter((d) => compared.includes(d.stage))
      .map(same);
    expect(synthetic).toEqual(real);
  });
});

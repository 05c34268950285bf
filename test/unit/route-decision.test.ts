import { describe, expect, it } from "vitest";
import { decideEgress } from "../../shared/routing/egress-allow.ts";
import { decideRoute, describeRoute, RouteTable } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { compileFor } from "../helpers/edge.ts";

const manifest =
  "name: t\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }\n";
const facts = (url: string, headers: Record<string, string> = {}) =>
  factsOf("GET", new URL(url), new Headers({ host: new URL(url).host, ...headers }));

describe("the route decision", () => {
  const gateway = compileFor(
    manifest,
    "gateway",
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [shop.example]
  rules:
    - matches: [{ path: { type: Exact, value: /cart } }, { path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: web }]
`,
  );
  const table = new RouteTable(gateway.vhosts, gateway);
  it.each([
    ["the winning entry", "http://shop.example/cart", { ok: true }],
    ["no rule matching on a known host", "http://shop.example/cart", { ok: true }],
    [
      "no route for an unknown host",
      "http://other.example/",
      { ok: false, reason: "no route accepts host other.example" },
    ],
  ])("%s", (_n, url, expected) => expect(decideRoute(table, facts(url), "gateway")).toMatchObject(expected));

  it("describes the winner and what it beat, in Gateway API's words", () => {
    const d = decideRoute(table, facts("http://shop.example/cart"), "gateway");
    expect(d.ok && describeRoute(table, facts("http://shop.example/cart"), d.routing)).toEqual({
      stage: "route",
      decision: "matched HTTPRoute/shop rule 0",
      route: "shop",
      rule: 0,
      match: 0,
      beat: ["exact path /cart beat prefix / (Exact ranks before PathPrefix)"],
    });
  });

  it("sends a service edge without routes to its default split, a version-less backendRef to the same", () => {
    const bare = compileFor(manifest, "web-edge");
    const d = decideRoute(new RouteTable(bare.vhosts, bare), facts("http://web/x"), "service");
    expect(d).toMatchObject({
      ok: true,
      routing: {
        backends: [
          { version: "v1", weight: 1 },
          { version: "v2", weight: 1 },
        ],
      },
    });
    expect(d.ok && d.routing.entry).toBeUndefined();
    const routed = compileFor(
      manifest,
      "web-edge",
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: r }\nspec:\n  parentRefs: [{ kind: Service, name: web }]\n  rules: [{ backendRefs: [{ name: web }] }]\n",
    );
    const r = decideRoute(new RouteTable(routed.vhosts, routed), facts("http://web/x"), "service");
    expect(r.ok && r.routing.backends.map((b) => b.version)).toEqual(["v1", "v2"]);
  });
});

describe("the egress decision", () => {
  const egress = compileFor(
    "name: t\nservices:\n  - { name: shop, versions: [{ name: v1, echo: true }], egress: true }\n",
    "egress",
    "apiVersion: isomesh.dev/v1\nkind: ExternalService\nmetadata: { name: books }\nspec:\n  hosts: [books.example, '*.cdn.example']\n",
  );
  const table = new RouteTable(egress.vhosts, egress);
  const externals = new Map(egress.externals!.map((e) => [e.name, e]));
  it.each([
    ["a declared host on its default port", "https://books.example/v1", { ok: true, external: { name: "books" } }],
    ["a wildcard host", "https://img.cdn.example/a.png", { ok: true }],
    [
      "an undeclared port, naming the ExternalService",
      "https://books.example:8443/",
      {
        ok: false,
        external: { name: "books" },
        reason: "ExternalService/books does not declare HTTPS on port 8443 (declared: 443/HTTPS)",
      },
    ],
    ["plain HTTP on 80", "http://books.example/", { ok: false, reason: expect.stringContaining("HTTP on port 80") }],
    [
      "an undeclared host",
      "https://evil.example/",
      { ok: false, reason: "no ExternalService declares host evil.example" },
    ],
  ])("%s", (_n, url, expected) =>
    expect(
      decideEgress(table, externals, new URL(url), factsOf("GET", new URL(url), new Headers(), true)),
    ).toMatchObject(expected),
  );
});

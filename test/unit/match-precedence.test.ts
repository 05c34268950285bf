import { describe, expect, it } from "vitest";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { RouteTable, pathPrefixMatches } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { whyBeat } from "../../shared/routing/explain-precedence.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";

const topology = topologyOf(
  parseManifest(
    "name: t\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\n  - { name: b, versions: [{ name: v1, echo: true }] }\n",
  ),
);

/** Compiles gateway routes (in the given creation order) and returns the matcher. */
function table(routes: object[]) {
  const { parsed, errors } = validateDocuments(
    routes.map(({ name, ...spec }: { name?: string }, i) => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: name ?? `r${i}` },
      spec: { parentRefs: [{ name: "gateway" }], ...spec },
    })),
  );
  expect(errors).toEqual([]);
  const snap = compileSnapshot(
    topology,
    "gateway",
    parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
    1,
  );
  return new RouteTable(snap.vhosts, snap);
}

const req = (path: string, init: { method?: string; headers?: Record<string, string>; host?: string } = {}) =>
  factsOf(
    init.method ?? "GET",
    new URL(`http://${init.host ?? "example.com"}${path}`),
    new Headers({ host: init.host ?? "example.com", ...init.headers }),
  );

const rule = (match: object, backend = "a") => ({ matches: [match], backendRefs: [{ name: backend }] });

describe("Gateway API match precedence", () => {
  const cases: { name: string; routes: object[]; request: ReturnType<typeof req>; winner: string }[] = [
    {
      name: "exact path beats a longer prefix",
      routes: [
        { name: "prefix", rules: [rule({ path: { type: "PathPrefix", value: "/shop/cart" } })] },
        { name: "exact", rules: [rule({ path: { type: "Exact", value: "/shop/cart" } })] },
      ],
      request: req("/shop/cart"),
      winner: "exact",
    },
    {
      name: "longest prefix wins",
      routes: [
        { name: "short", rules: [rule({ path: { type: "PathPrefix", value: "/" } })] },
        { name: "long", rules: [rule({ path: { type: "PathPrefix", value: "/shop" } })] },
      ],
      request: req("/shop/x"),
      winner: "long",
    },
    {
      name: "method match beats no method",
      routes: [
        { name: "any", rules: [rule({ path: { type: "PathPrefix", value: "/api" } })] },
        { name: "post", rules: [rule({ path: { type: "PathPrefix", value: "/api" }, method: "POST" })] },
      ],
      request: req("/api", { method: "POST" }),
      winner: "post",
    },
    {
      name: "more header matches win",
      routes: [
        { name: "one", rules: [rule({ headers: [{ name: "a", value: "1" }] })] },
        {
          name: "two",
          rules: [
            rule({
              headers: [
                { name: "a", value: "1" },
                { name: "b", value: "2" },
              ],
            }),
          ],
        },
      ],
      request: req("/", { headers: { a: "1", b: "2" } }),
      winner: "two",
    },
    {
      name: "more query matches win",
      routes: [
        { name: "none", rules: [rule({})] },
        { name: "q", rules: [rule({ queryParams: [{ name: "v", value: "2" }] })] },
      ],
      request: req("/?v=2"),
      winner: "q",
    },
    {
      name: "on a full tie the oldest route wins",
      routes: [
        { name: "zeta", rules: [rule({})] },
        { name: "alpha", rules: [rule({})] },
      ],
      request: req("/x"),
      winner: "zeta",
    },
    {
      name: "header match only counts when it matches",
      routes: [
        { name: "plain", rules: [rule({})] },
        { name: "jason", rules: [rule({ headers: [{ name: "end-user", value: "jason" }] })] },
      ],
      request: req("/", { headers: { "end-user": "bob" } }),
      winner: "plain",
    },
    {
      name: "exact hostname beats wildcard, which beats no hostname",
      routes: [
        { name: "any", rules: [rule({})] },
        { name: "wild", hostnames: ["*.example.com"], rules: [rule({})] },
        { name: "exact", hostnames: ["shop.example.com"], rules: [rule({})] },
      ],
      request: req("/", { host: "shop.example.com" }),
      winner: "exact",
    },
    {
      name: "wildcard hostname matches subdomains",
      routes: [
        { name: "any", rules: [rule({})] },
        { name: "wild", hostnames: ["*.example.com"], rules: [rule({})] },
      ],
      request: req("/", { host: "a.b.example.com:8080" }),
      winner: "wild",
    },
  ];
  it.each(cases)("$name", ({ routes, request, winner }) => {
    expect(table(routes).match(request)?.route).toBe(winner);
  });

  it("ranks within one route by rule order on a tie", () => {
    const t = table([{ name: "r", rules: [rule({}, "a"), rule({}, "b")] }]);
    expect(t.match(req("/"))?.rule).toBe(0);
  });

  it("explains why the winner beat the others", () => {
    const t = table([
      { name: "root", rules: [rule({ path: { type: "PathPrefix", value: "/" } })] },
      { name: "shop", rules: [rule({ path: { type: "Exact", value: "/shop" } })] },
    ]);
    const [winner, loser] = t.candidates(req("/shop"));
    expect(whyBeat(winner, loser)).toBe("exact path /shop beat prefix / (Exact ranks before PathPrefix)");
  });

  it("answers no match for a host no route accepts", () => {
    const t = table([{ name: "shop", hostnames: ["shop.example"], rules: [rule({})] }]);
    expect(t.match(req("/", { host: "other.example" }))).toBeUndefined();
  });
});

describe("PathPrefix is element-wise", () => {
  it.each([
    ["/shop", "/shop", true],
    ["/shop", "/shop/", true],
    ["/shop", "/shop/cart", true],
    ["/shop", "/shopping", false],
    ["/shop/", "/shop", true],
    ["/shop/", "/shop/x", true],
    ["/", "/anything", true],
  ])("prefix %s vs %s → %s", (prefix, path, expected) => expect(pathPrefixMatches(prefix, path)).toBe(expected));
});

import { describe, expect, it } from "vitest";
import type { AuthorizationRule } from "../../shared/resources/authorization-policy.ts";
import { authorize, type AuthzRequest, valueMatches } from "../../shared/security/authorize.ts";

const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({
  caller: "productpage",
  method: "GET",
  path: "/ratings/0",
  host: "ratings",
  headers: new Headers(),
  ...over,
});
const policy = (name: string, action: "ALLOW" | "DENY" | "AUDIT", rules: AuthorizationRule[]) => ({
  name,
  action,
  rules,
});

describe("authorization evaluation (Istio semantics)", () => {
  const cases: [string, ReturnType<typeof policy>[], Partial<AuthzRequest>, boolean, string?][] = [
    ["no policy allows", [], {}, true],
    ["ALLOW with no rules denies everything", [policy("nothing", "ALLOW", [])], {}, false],
    ["ALLOW with an empty rule allows everything", [policy("all", "ALLOW", [{}])], {}, true],
    [
      "default deny once an ALLOW exists",
      [policy("reviews-only", "ALLOW", [{ from: [{ source: { principals: ["reviews"] } }] }])],
      { caller: "productpage" },
      false,
    ],
    [
      "ALLOW by caller",
      [policy("reviews-only", "ALLOW", [{ from: [{ source: { principals: ["reviews"] } }] }])],
      { caller: "reviews" },
      true,
    ],
    [
      "SPIFFE-style principal",
      [policy("p", "ALLOW", [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/reviews"] } }] }])],
      { caller: "reviews" },
      true,
    ],
    [
      "DENY beats ALLOW",
      [policy("all", "ALLOW", [{}]), policy("no-admin", "DENY", [{ to: [{ operation: { paths: ["/admin*"] } }] }])],
      { path: "/admin/x" },
      false,
      "no-admin",
    ],
    [
      "DENY not matching lets ALLOW decide",
      [policy("all", "ALLOW", [{}]), policy("no-admin", "DENY", [{ to: [{ operation: { paths: ["/admin*"] } }] }])],
      { path: "/ratings" },
      true,
    ],
    [
      "suffix wildcard path",
      [policy("d", "DENY", [{ to: [{ operation: { paths: ["*.php"] } }] }])],
      { path: "/x/index.php" },
      false,
    ],
    [
      "notMethods",
      [policy("ro", "ALLOW", [{ to: [{ operation: { notMethods: ["GET", "HEAD"] } }] }])],
      { method: "GET" },
      false,
    ],
    [
      "methods OR paths must both hold (AND across fields)",
      [policy("a", "ALLOW", [{ to: [{ operation: { methods: ["POST"], paths: ["/ratings/*"] } }] }])],
      { method: "GET" },
      false,
    ],
    [
      "any authenticated user",
      [policy("authn", "ALLOW", [{ from: [{ source: { requestPrincipals: ["*"] } }] }])],
      { requestPrincipal: "https://i/jason" },
      true,
    ],
    [
      "anonymous is not a request principal",
      [policy("authn", "ALLOW", [{ from: [{ source: { requestPrincipals: ["*"] } }] }])],
      {},
      false,
    ],
    [
      "notRequestPrincipals * denies anonymous",
      [policy("deny-anon", "DENY", [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }])],
      {},
      false,
      "deny-anon",
    ],
    [
      "notRequestPrincipals * lets authenticated users through",
      [policy("deny-anon", "DENY", [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }])],
      { requestPrincipal: "https://i/ann" },
      true,
    ],
    [
      "claims in when",
      [policy("admins", "ALLOW", [{ when: [{ key: "request.auth.claims[groups]", values: ["admin"] }] }])],
      { claims: { groups: ["dev", "admin"] } },
      true,
    ],
    [
      "claims notValues",
      [policy("admins", "ALLOW", [{ when: [{ key: "request.auth.claims[groups]", notValues: ["banned"] }] }])],
      { claims: { groups: ["banned"] } },
      false,
    ],
    [
      "nested claim",
      [policy("n", "ALLOW", [{ when: [{ key: "request.auth.claims[org.team]", values: ["mesh"] }] }])],
      { claims: { org: { team: "mesh" } } },
      true,
    ],
    [
      "header condition",
      [policy("h", "ALLOW", [{ when: [{ key: "request.headers[x-env]", values: ["prod"] }] }])],
      { headers: new Headers({ "x-env": "dev" }) },
      false,
    ],
    ["AUDIT never decides", [policy("watch", "AUDIT", [{}])], {}, true],
    [
      "hosts",
      [policy("h", "ALLOW", [{ to: [{ operation: { hosts: ["*.example.com"] } }] }])],
      { host: "shop.example.com" },
      true,
    ],
  ];
  it.each(cases)("%s", (_name, policies, over, allowed, deniedBy) => {
    const d = authorize({ policies }, req(over));
    expect(d.allowed).toBe(allowed);
    if (deniedBy) expect(d).toMatchObject({ policy: deniedBy, rule: 0 });
  });

  it("names every ALLOW policy when nothing matched", () => {
    const d = authorize(
      { policies: [policy("a", "ALLOW", []), policy("b", "ALLOW", [{ from: [{ source: { principals: ["x"] } }] }])] },
      req(),
    );
    expect(d).toMatchObject({ allowed: false, policy: ["a", "b"], reason: "no ALLOW policy matched" });
  });

  it.each([
    ["*", "x", true],
    ["a*", "abc", true],
    ["*c", "abc", true],
    ["abc", "abcd", false],
    ["a*", "b", false],
  ])("value %s vs %s", (p, v, m) => expect(valueMatches(p, v)).toBe(m));
});

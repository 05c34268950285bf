import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Issue 25: a route's RegularExpression met an attacker's input (`^(a|aa)+$` and `aaaa…a!`) and
// backtracked for seconds of CPU; twenty such requests stalled the gateway for every host. In
// workerd, through the gateway: the attacks' inputs here would backtrack for longer than the age
// of the universe, so before linear-time matching this file timed out; now every request is
// answered. Apply refuses what RE2 cannot run, naming the field (as Istio does). The host's
// trailing dots, trimmed with a regex before, had the same flaw.

let mesh: TestMesh;
const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: victim }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [victim.example]
  rules:
    - matches:
        - headers: [{ type: RegularExpression, name: x-user, value: "^(a|aa)+$" }]
        - queryParams: [{ type: RegularExpression, name: q, value: "^(a|aa)+$" }]
        - path: { type: RegularExpression, value: "^/((a+))+$" }
        - path: { type: RegularExpression, value: "^/(a|a)+$" }
        - path: { type: RegularExpression, value: "^/(a{1,})+$" }
      backendRefs: [{ name: api }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: other }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [other.example]
  rules: [{ backendRefs: [{ name: web }] }]
`;

beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1"], api: ["v1"] }));
  await mesh.apply(routes);
});
afterAll(() => mesh?.stop());

const a = "a".repeat(5000);

describe("a route regex cannot stall the gateway", () => {
  it("twenty attack requests in flight, another host is served and every attack is answered", async () => {
    const attacks = Array.from({ length: 20 }, (_, i) => {
      const [path, headers] = [
        ["/", { "x-user": `${a}!` }],
        [`/?q=${a}!`, {}],
        [`/${a}!`, {}],
        ["/", { "x-user": a }], // this one matches
      ][i % 4] as [string, Record<string, string>];
      return mesh.get(path, { host: "victim.example", headers });
    });
    const other = await mesh.get("/", { host: "other.example" });
    expect(other.status).toBe(200);
    expect(other.json()).toMatchObject({ service: "web" });
    const answered = await Promise.all(attacks);
    expect(answered.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 4 === 3 ? 200 : 404)));
  });
});

describe("the host's trailing dots are trimmed in linear time", () => {
  it("Hosts of 120 000 dots in flight, another host is served and each is answered", async () => {
    // `/\.+$/` took 26 s of CPU on one such Host (quadratic): eight of them stalled every host.
    const dotted = Array.from({ length: 8 }, () => mesh.get("/", { host: `x${".".repeat(120_000)}y.` }));
    const other = await mesh.get("/", { host: "other.example" });
    expect(other.status).toBe(200);
    expect((await Promise.all(dotted)).map((r) => r.status)).toEqual(Array(8).fill(404));
  });
});

describe("apply refuses a regular expression RE2 cannot run", () => {
  it.each([
    [
      "a header match with a lookahead",
      "headers: [{ type: RegularExpression, name: x, value: '(?=a)a' }]",
      "headers[0].value",
      /lookahead/,
    ],
    [
      "a query match with a backreference",
      "queryParams: [{ type: RegularExpression, name: q, value: '(a)\\1' }]",
      "queryParams[0].value",
      /backreferences/,
    ],
    [
      "a path too large to run",
      "path: { type: RegularExpression, value: '/[a-z]{999}' }",
      "path.value",
      /more than \d+ instructions/,
    ],
  ])("%s: 422 naming the field, nothing stored", async (_name, match, field, message) => {
    const before = (await mesh.admin("/v1/version")).json().version;
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bad }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [{ ${match} }], backendRefs: [{ name: web }] }]
`,
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toEqual([
      expect.objectContaining({
        resource: "HTTPRoute/bad",
        path: `spec.rules[0].matches[0].${field}`,
        message: expect.stringMatching(message),
      }),
    ]);
    expect((await mesh.admin("/v1/version")).json().version).toBe(before);
  });
});

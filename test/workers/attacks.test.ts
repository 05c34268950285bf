// Attack requests through a real mesh (issue 15): each test is one way an attacker tried to walk
// past a policy or grow the mesh without bound, and what the mesh must do instead. Those the stages
// decide alone (derived headers, path and host normalization, token rules) run in process:
// test/unit/edge/security.test.ts; here are the ones that need workerd (bindings' props, Durable
// Objects, the admin API's sockets, the dev entry socket).
import { existsSync, readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join, resolve } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { INLINE } from "../helpers/data-plane.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RATE_LIMIT_SHARDS } from "../../shared/ratelimit/shards.ts";
import { eventually } from "../helpers/eventually.ts";
import { http } from "../helpers/http.ts";
import { startTestMesh, TEST_TOKEN, type TestMesh } from "../helpers/mesh.ts";

const forwarder = resolve("test/helpers/forwarder.ts");
const ISS = "https://login.example";
let mesh: TestMesh;
let sign: (claims: Record<string, unknown>, opts?: { exp?: boolean }) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
  sign = (claims, opts = {}) => {
    const jwt = new SignJWT({ aud: "shop", ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISS);
    return (opts.exp === false ? jwt : jwt.setExpirationTime("10m")).sign(privateKey);
  };
  mesh = await startTestMesh(
    `name: atk
services:
  - name: web
    versions: [{ name: v1, echo: true }]
  - name: api
    versions: [{ name: v1, echo: true }]
  - name: front
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [api]
`,
    { persist: true },
  );
  const ra = (name: string, target: string, outputs: string, extra = "") => `
apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: ${name} }
spec:
  targetRefs: [${target}]
  jwtRules:
    - issuer: ${ISS}
      audiences: [shop]
      jwks: '${jwks}'
      outputClaimToHeaders: ${outputs}${extra}
---`;
  const route = (name: string, match: string, backend: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [${match}], backendRefs: [{ name: ${backend} }] }]
---`;
  await mesh.apply(`
${route("web", "{ path: { type: PathPrefix, value: / } }", "web")}
${route("api", "{ path: { type: PathPrefix, value: /api } }", "api")}
${route("front", "{ path: { type: PathPrefix, value: /front } }", "front")}
${ra("api-login", "{ kind: Service, name: api }", "[{ header: x-api-user, claim: sub }]", "\n      fromHeaders: [{ name: x-api-token }]")}
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: api-policy }
spec:
  targetRefs: [{ kind: Service, name: api }]
  action: DENY
  rules:
    - to: [{ operation: { paths: ["/api/alice*"] } }]
      when: [{ key: "request.headers[x-api-user]", notValues: [alice] }]
`);
  // The first apply of a fresh mesh does not wait for edges that have not reported yet.
  await eventually(
    () => mesh.get("/api/alice"),
    (r) => r.status === 403,
    { what: "api-policy enforced at the api edge (403 for /api/alice)" },
  );
});
afterAll(() => mesh?.stop());

describe("1. headers derived from a verified token are the only ones any stage sees", () => {
  it("service edge called east-west: an app's copy of a derived header is removed before authorization", async () => {
    const res = await mesh.get("/front", {
      headers: { "x-forward-to": "API", "x-forward-url": "http://api/api/alice", "x-api-user": "alice" },
    });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: "rbac_denied", policy: "api-policy", rule: 0 });
  });

  it("a token the service edge verifies east-west sets it from the claims", async () => {
    const lenient = await mesh.get("/front", {
      headers: { "x-forward-to": "API", "x-api-token": await sign({ sub: "ann" }, { exp: false }) },
    });
    expect(lenient.status).toBe(200);
    expect(lenient.json().headers["x-api-user"]).toBe("ann");
  });
});

describe("5. global rate limits live in a bounded number of Durable Objects", () => {
  it("500 random keys create at most the shard count of RateLimiter objects", async () => {
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  rateLimits: [{ requests: 5, per: 1m, key: { header: x-tenant }, mode: global }]
`);
    const dir = join(mesh.dir, "state", "do", "isomesh-control-RateLimiter");
    const objects = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sqlite")).length : 0);
    const before = objects();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => mesh.get("/x", { headers: { "x-tenant": `t-${i}-${Math.random()}` } })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(objects() - before).toBeLessThanOrEqual(RATE_LIMIT_SHARDS);
  });

  it("stays exact: 50 of 200 concurrent requests pass a global limit of 50", async () => {
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  rateLimits: [{ requests: 50, per: 1h, key: { header: x-tenant }, mode: global }]
`);
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, () => mesh.get("/x", { headers: { "x-tenant": "exact" } })),
    );
    const crossedWindow = Math.floor(t0 / 3_600_000) !== Math.floor(Date.now() / 3_600_000);
    const passed = results.filter((r) => r.status === 200).length;
    expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    if (crossedWindow) expect(passed).toBeLessThanOrEqual(100);
    else expect(passed).toBe(50);
  });
});

describe("7. the admin API refuses oversized and hostile input with a 4xx naming the limit", () => {
  const errorsOf = (res: { json(): any }) => res.json().errors as { resource: string; path: string; message: string }[];
  const apply = (body: string, path = "/v1/apply") => mesh.admin(path, { method: "POST", body });

  it("a YAML alias bomb", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
      );
    const res = await apply(lines.join("\n"));
    expect(res.status).toBe(422);
    expect(errorsOf(res)[0].message).toMatch(/alias/);
  });

  it.each([
    ["JSON", "[".repeat(10_000) + "]".repeat(10_000)],
    ["YAML", "- ".repeat(10_000) + "x"],
    ["YAML flow", "a: " + "[".repeat(10_000) + "]".repeat(10_000)],
  ])("%s nested 10 000 deep", async (_kind, body) => {
    const res = await apply(body);
    expect(res.status).toBe(422);
    expect(errorsOf(res)[0].message).toMatch(/nested|depth/);
  });

  it("10 000 documents", async () => {
    const res = await apply(
      Array.from(
        { length: 10_000 },
        (_, i) =>
          `apiVersion: isomesh.dev/v1\nkind: TrafficPolicy\nmetadata: { name: p${i} }\nspec: { targetRefs: [{ kind: Service, name: web }] }`,
      ).join("\n---\n"),
    );
    expect(res.status).toBe(422);
    expect(errorsOf(res)[0].message).toMatch(/documents/);
  });

  it("a 1.5 MB resource, before anything is stored", async () => {
    const before = (await mesh.admin("/v1/version")).json().version;
    const big = JSON.stringify({
      apiVersion: "isomesh.dev/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "huge" },
      spec: {
        targetRefs: [{ kind: "Service", name: "web" }],
        action: "DENY",
        rules: [
          { to: [{ operation: { paths: Array.from({ length: 30_000 }, (_, i) => `/p/${i}/${"x".repeat(40)}`) } }] },
        ],
      },
    });
    expect(big.length).toBeGreaterThan(1_500_000);
    const res = await apply(big);
    expect(res.status).toBe(413);
    expect(errorsOf(res)[0]).toMatchObject({ resource: "AuthorizationPolicy/huge" });
    expect(errorsOf(res)[0].message).toMatch(/resource size/);
    expect((await mesh.admin("/v1/version")).json().version).toBe(before);
  });

  it("config that would make one edge's snapshot too large for its row is refused, naming the edge", async () => {
    const policy = (i: number) =>
      JSON.stringify({
        apiVersion: "isomesh.dev/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: `big-${i}` },
        spec: {
          targetRefs: [{ kind: "Service", name: "api" }],
          action: "DENY",
          rules: Array.from({ length: 4 }, (_, r) => ({
            to: [
              { operation: { paths: Array.from({ length: 64 }, (_, j) => `/big/${i}/${r}/${j}/${"x".repeat(900)}`) } },
            ],
          })),
        },
      });
    const statuses: number[] = [];
    let refused: any;
    for (let i = 0; i < 6 && !refused; i++) {
      const res = await apply(policy(i));
      statuses.push(res.status);
      if (res.status !== 200) refused = res.json();
    }
    expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1), JSON.stringify(refused).slice(0, 300)).toBe(413);
    expect(refused.errors[0].message).toMatch(/snapshot of edge api-edge would be \d+ bytes, over the limit/);
    for (let i = 0; i < statuses.length - 1; i++)
      await mesh.admin(`/v1/resources/AuthorizationPolicy/big-${i}?wait=true`, { method: "DELETE" });
  });

  it("/v1/analyze has the same body limit", async () => {
    const res = await apply("# " + "x".repeat(5 * 1024 * 1024), "/v1/analyze");
    expect(res.status).toBe(413);
    expect(errorsOf(res)[0].message).toMatch(/body/);
  });

  const declaredHuge = (expect100: boolean) =>
    new Promise<{ status: number; body: string; continued: boolean }>((done, fail) => {
      let continued = false;
      const headers: Record<string, string> = {
        authorization: `Bearer ${TEST_TOKEN}`,
        "content-length": String(300 * 1024 * 1024),
      };
      if (expect100) headers.expect = "100-continue";
      const req = httpRequest(`${mesh.adminUrl}/v1/apply`, { method: "POST", headers }, (r) => {
        let body = "";
        r.on("data", (c) => (body += c));
        r.on("end", () => done({ status: r.statusCode ?? 0, body, continued }));
      });
      req.on("continue", () => (continued = true));
      req.on("error", fail);
      if (!expect100) req.write("x".repeat(1024)); // a 300 MB promise, 1 KiB sent: the answer must not wait for the rest
    });

  it.each([
    ["sent at once", false],
    ["with Expect: 100-continue, as curl sends a large upload", true],
  ])("a declared Content-Length over the limit is refused before the body is read (%s)", async (_how, expect100) => {
    const res = await declaredHuge(expect100);
    expect(res.status).toBe(413);
    expect(res.continued).toBe(false);
    expect(JSON.parse(res.body).errors[0].message).toMatch(/body size limit/);
  });

  it("a chunked body is refused while it streams in", async () => {
    const chunk = Buffer.alloc(1024 * 1024, "x");
    const total = 64;
    const outcome = await new Promise<{ status: number; sentMiB: number; body: string }>((done, fail) => {
      let sent = 0;
      let answered = false;
      const req = httpRequest(
        `${mesh.adminUrl}/v1/apply`,
        { method: "POST", headers: { authorization: `Bearer ${TEST_TOKEN}`, "transfer-encoding": "chunked" } },
        (r) => {
          answered = true;
          let body = "";
          r.on("data", (c) => (body += c));
          r.on("end", () => done({ status: r.statusCode ?? 0, sentMiB: sent, body }));
        },
      );
      req.on("error", (e) => (answered ? undefined : fail(e)));
      const pump = () => {
        while (!answered && sent < total) {
          sent++;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
    expect(outcome.status).toBe(413);
    expect(outcome.sentMiB).toBeLessThan(total);
  });
});

describe("8. isomesh dev has no way in but the gateway and the admin API", () => {
  it("Miniflare's entry socket does not reach an app or a service edge", async () => {
    const entry = await mesh.miniflare.ready;
    // In the inline data plane there is no service edge: the apps refuse by themselves (no binding's props).
    const workers = mesh.mesh.workers.filter((w) => ["web-v1", "web-edge", "front-v1"].includes(w.name));
    expect(workers.map((w) => w.name).sort()).toEqual(
      INLINE ? ["front-v1", "web-v1"] : ["front-v1", "web-edge", "web-v1"],
    );
    for (const worker of workers.map((w) => w.config.name)) {
      const res = await http(new URL("/admin", entry).toString(), { headers: { "MF-Route-Override": worker } });
      expect(res.status, worker).toBe(403);
      expect(res.body, worker).toContain("not_via_mesh");
    }
  });
});

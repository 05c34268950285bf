import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { testMesh } from "../../helpers/edge.ts";

// Authentication, authorization, normalization and the headers derived from tokens, through the
// gateway and service edges in process: the attacks of issue 15 and the JWT semantics of Istio.
// East-west calls are sent to the callee's edge as the binding of the calling app would.

const ISS = "https://login.example";
let jwks: string;
let sign: (claims: Record<string, unknown>, opts?: { exp?: boolean }) => Promise<string>;
beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
  sign = (claims, opts = {}) => {
    const jwt = new SignJWT({ aud: "shop", ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISS);
    return (opts.exp === false ? jwt : jwt.setExpirationTime("10m")).sign(privateKey);
  };
});
const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await sign(claims)}` });
type Echo = { service: string; path: string; host: string; headers: Record<string, string> };
const json = async (r: Response) => (await r.json()) as Echo;
const error = async (r: Response) => ((await r.json()) as { error: Record<string, unknown> }).error;

const manifest = `name: atk
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
  - { name: vip, versions: [{ name: v1, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }] }
  - { name: metered, versions: [{ name: v1, echo: true }] }
`;
const route = (
  name: string,
  match: string,
  backend: string,
  hostnames = "",
) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: gateway }]${hostnames}
  rules: [{ matches: [${match}], backendRefs: [{ name: ${backend} }] }]
---
`;
const ra = (name: string, target: string, outputs: string, extra = "") => `apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: ${name} }
spec:
  targetRefs: [${target}]
  jwtRules:
    - issuer: ${ISS}
      audiences: [shop]
      jwks: '${jwks}'
      outputClaimToHeaders: ${outputs}${extra}
---
`;
const config =
  () => `${route("web", "{ path: { type: PathPrefix, value: / } }", "web")}${route("vip-by-header", "{ headers: [{ name: x-user, value: alice }] }", "vip")}${route("reports", "{ path: { type: PathPrefix, value: /reports } }", "vip")}${route("admin-exact", "{ path: { type: Exact, value: /admin } }", "vip")}${route("example", "{ path: { type: PathPrefix, value: /where } }", "vip", "\n  hostnames: [example.com]")}${route("api", "{ path: { type: PathPrefix, value: /api } }", "api")}${route("metered", "{ path: { type: PathPrefix, value: /metered } }", "metered")}${ra("gateway-login", "{ kind: Gateway, name: gateway }", "[{ header: x-user, claim: sub }]", "\n      requireExpiration: true")}${ra("api-login", "{ kind: Service, name: api }", "[{ header: x-api-user, claim: sub }]", "\n      fromHeaders: [{ name: x-api-token }]")}${ra("metered-login", "{ kind: Service, name: metered }", "[{ header: x-m-user, claim: sub }]")}apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: only-alice }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/alice/*"] } }], when: [{ key: "request.headers[x-user]", notValues: [alice] }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }, { to: [{ operation: { methods: [PATCH] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: example-private }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { hosts: [example.com], paths: ["/private*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: api-policy }
spec:
  targetRefs: [{ kind: Service, name: api }]
  action: DENY
  rules:
    - when: [{ key: "request.auth.claims[role]", values: [blocked] }]
    - to: [{ operation: { paths: ["/api/alice*"] } }]
      when: [{ key: "request.headers[x-api-user]", notValues: [alice] }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: metered }
spec:
  targetRefs: [{ kind: Service, name: metered }]
  rateLimits: [{ requests: 2, per: 1h, key: { header: x-m-user } }]
  faultInjection: { match: { headers: [{ name: x-m-user, value: dave }] }, abort: { httpStatus: 418 } }
`;

describe("headers derived from a verified token are the only ones any stage sees", () => {
  it("gateway: a client's x-user never reaches authorization, with or without a token", async () => {
    const mesh = testMesh(manifest, config());
    expect((await mesh.request("/alice/x", { headers: { "x-user": "alice" } })).status).toBe(403);
    const bob = await mesh.request("/alice/x", { headers: { ...(await bearer({ sub: "bob" })), "x-user": "alice" } });
    expect(bob.status).toBe(403);
    expect(await error(bob)).toMatchObject({ code: "rbac_denied", policy: "only-alice" });
    const alice = await mesh.request("/alice/x", { headers: await bearer({ sub: "alice" }) });
    expect(alice.status).toBe(200);
    expect((await json(alice)).headers["x-user"]).toBe("alice");
  });

  it("gateway: a client's x-user never picks a route", async () => {
    const mesh = testMesh(manifest, config());
    const forged = await json(await mesh.request("/", { headers: { "x-user": "alice" } }));
    expect(forged.service).toBe("web");
    expect(forged.headers["x-user"]).toBeUndefined();
    expect((await json(await mesh.request("/", { headers: await bearer({ sub: "alice" }) }))).service).toBe("vip");
  });

  it("service edge behind the gateway: its own output header comes from the gateway's verified claims, never the client", async () => {
    const mesh = testMesh(manifest, config());
    expect((await mesh.request("/api/alice", { headers: { "x-api-user": "alice" } })).status).toBe(403);
    const alice = await mesh.request("/api/alice", { headers: await bearer({ sub: "alice" }) });
    expect(alice.status).toBe(200);
    expect((await json(alice)).headers["x-api-user"]).toBe("alice");
  });

  it("service edge called east-west: an app's copy of a derived header is removed before authorization", async () => {
    const res = await testMesh(manifest, config())
      .edge("api-edge")
      .request("/api/alice", { caller: "front", headers: { "x-api-user": "alice" } });
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "rbac_denied", policy: "api-policy", rule: 1 });
  });

  it("fault matches read the derived header: a forged copy neither triggers nor dodges a fault", async () => {
    const mesh = testMesh(manifest, config());
    expect((await mesh.request("/metered", { headers: { "x-m-user": "dave" } })).status).toBe(200);
    const dave = await mesh.request("/metered", {
      headers: { ...(await bearer({ sub: "dave" })), "x-m-user": "erin" },
    });
    expect(dave.status).toBe(418);
    expect((await error(dave)).code).toBe("fault_abort");
  });

  it("rate-limit keys read the derived header: rotating a forged copy does not escape the limit", async () => {
    const mesh = testMesh(manifest, config());
    const headers = await bearer({ sub: "carol" });
    const statuses = [];
    for (const forged of ["a", "b", "c"])
      statuses.push((await mesh.request("/metered", { headers: { ...headers, "x-m-user": forged } })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe("paths are normalized before policy and routing, and the backend gets the same path", () => {
  let mesh: ReturnType<typeof testMesh>;
  beforeAll(() => void (mesh = testMesh(manifest, config())));

  it.each([
    "/%61dmin",
    "/%61%64%6d%69%6e",
    "/ADMIN/../admin",
    "/x/%2e%2e/admin",
    "/admin/%2E%2E/admin",
    "/%61dmin/secret",
  ])("a DENY on /admin refuses %s", async (path) => {
    const res = await mesh.request(path);
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "rbac_denied", policy: "deny-admin" });
  });

  it("routes an encoded path like the decoded one and sends the backend the normalized path", async () => {
    const res = await json(await mesh.request("/%72eports/%7Eq%2fa%3f?x=%61"));
    expect(res.service).toBe("vip");
    expect(res.path).toBe("/reports/~q%2Fa%3F?x=%61");
  });

  it("never hands the app a path whose single decoding is a path the policy did not judge (/%%36%31dmin)", async () => {
    const res = await mesh.request("/%%36%31dmin");
    expect(res.status).toBe(200);
    const { path } = await json(res);
    expect(path).toBe("/%2561dmin");
    expect(decodeURIComponent(path)).not.toBe("/admin");
  });

  it("refuses an encoded NUL with 400", async () => {
    const res = await mesh.request("/a%00b");
    expect(res.status).toBe(400);
    expect((await error(res)).code).toBe("invalid_path");
  });

  it("judges the method as routing does: a DENY on PATCH refuses `patch` (fetch upper-cases only the six standard methods)", async () => {
    const res = await mesh.request("/x", { method: "patch" });
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "rbac_denied", policy: "deny-admin", rule: 1 });
  });
});

describe("identity is carried whatever its size within the token limit", () => {
  it("a service-edge DENY on a claim holds for a token with 4.7 KiB of claims", async () => {
    const mesh = testMesh(manifest, config());
    const groups = Array.from({ length: 170 }, (_, i) => `group-with-a-long-name-${String(i).padStart(4, "0")}`);
    const token = await sign({ sub: "mallory", role: "blocked", groups });
    expect(JSON.stringify({ groups }).length).toBeGreaterThan(4700);
    expect(token.length).toBeLessThan(8192);
    const res = await mesh.request("/api/x", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "rbac_denied", policy: "api-policy", rule: 0 });
    expect((await mesh.request("/api/x", { headers: await bearer({ sub: "ann", groups }) })).status).toBe(200);
  });
});

describe("hosts are normalized: case, port and trailing dot", () => {
  let mesh: ReturnType<typeof testMesh>;
  beforeAll(() => void (mesh = testMesh(manifest, config())));

  it.each(["EXAMPLE.com.", "example.com.:8080", "Example.COM:443", "example.com.."])(
    "a host-scoped DENY refuses Host %s",
    async (host) => {
      const res = await mesh.request("/private/x", { host });
      expect(res.status).toBe(403);
      expect((await error(res)).policy).toBe("example-private");
    },
  );

  it("routes a trailing-dot host to the route of the host and sends the backend that host, with its port", async () => {
    const res = await json(await mesh.request("/where", { host: "Example.COM.:8080" }));
    expect(res.service).toBe("vip");
    expect(res.host).toBe("example.com:8080");
  });
});

describe("JWT at the gateway (Istio's RequestAuthentication)", () => {
  it("answers 401 with WWW-Authenticate for an invalid token, naming the RequestAuthentication", async () => {
    const res = await testMesh(manifest, config()).request("/", { headers: { authorization: "Bearer not.a.token" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await error(res)).toMatchObject({ code: "authn_failed", policy: "gateway-login" });
  });

  it("names the RequestAuthentication for a token of an issuer it does not trust", async () => {
    const stranger = new SignJWT({ sub: "ann", aud: "shop" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://stranger.example");
    const { privateKey } = await generateKeyPair("ES256");
    const res = await testMesh(manifest, config()).request("/", {
      headers: { authorization: `Bearer ${await stranger.sign(privateKey)}` },
    });
    expect(await error(res)).toMatchObject({
      code: "authn_failed",
      policy: "gateway-login",
      message: "invalid token: issuer is not trusted here",
    });
  });

  it("denies by a claim before an ALLOW: DENY unless the claim allows it", async () => {
    const mesh = testMesh(
      manifest,
      `${route("web", "{ path: { type: PathPrefix, value: / } }", "web")}${ra("gateway-login", "{ kind: Gateway, name: gateway }", "[]")}apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: everyone }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  rules: [{}]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }], when: [{ key: "request.auth.claims[role]", notValues: [admin] }] }]
`,
    );
    const ann = await mesh.request("/admin/x", { headers: await bearer({ sub: "ann" }) });
    expect(ann.status).toBe(403);
    expect(await error(ann)).toMatchObject({ code: "rbac_denied", policy: "deny-admin", rule: 0 });
    expect((await mesh.request("/admin/x", { headers: await bearer({ sub: "root", role: "admin" }) })).status).toBe(
      200,
    );
  });

  it("refuses a token without exp where the rule sets requireExpiration; another rule accepts it, as Istio does", async () => {
    const mesh = testMesh(manifest, config());
    const token = await sign({ sub: "ann" }, { exp: false });
    const strict = await mesh.request("/", { headers: { authorization: `Bearer ${token}` } });
    expect(strict.status).toBe(401);
    expect((await error(strict)).message).toMatch(/exp/);
    // The api edge's rule reads x-api-token and does not require exp.
    const lenient = await mesh
      .edge("api-edge")
      .request("/api/x", { caller: "front", headers: { "x-api-token": token } });
    expect(lenient.status).toBe(200);
    expect((await json(lenient)).headers["x-api-user"]).toBe("ann");
  });

  it("does not forward the token by default, and the next hop learns the principal", async () => {
    const res = await json(await testMesh(manifest, config()).request("/", { headers: await bearer({ sub: "ann" }) }));
    expect(res.headers.authorization).toBeUndefined();
    expect(res.headers["x-isomesh-principal"]).toBe(`${ISS}/ann`);
  });

  it("routes on the query the client sent: a token taken from a parameter leaves the backend's URL, not what routing sees", async () => {
    const mesh = testMesh(
      manifest,
      `${route("by-param", "{ queryParams: [{ type: RegularExpression, name: access_token, value: '.+' }] }", "vip")}${route("web", "{ path: { type: PathPrefix, value: / } }", "web")}${ra("gateway-login", "{ kind: Gateway, name: gateway }", "[]", "\n      fromParams: [access_token]")}`,
    );
    const res = await json(await mesh.request(`/x?access_token=${await sign({ sub: "ann" })}&keep=1`));
    expect(res.service).toBe("vip");
    expect(res.path).toBe("/x?keep=1");
  });
});

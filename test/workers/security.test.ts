import { resolve } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

const forwarder = resolve("test/helpers/forwarder.ts");
const ISS = "https://login.example";
let mesh: TestMesh;
let sign: (claims: Record<string, unknown>) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
  sign = (claims) =>
    new SignJWT({ aud: "shop", iss: ISS, ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setExpirationTime("10m")
      .sign(privateKey);
  mesh = await startTestMesh(`name: sec
services:
  - name: front
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [reviews, ratings]
  - name: reviews
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [ratings]
  - name: ratings
    versions: [{ name: v1, echo: true }]
`);
  await mesh.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: front }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: front }] }]
---
apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: login }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  jwtRules:
    - issuer: ${ISS}
      audiences: [shop]
      jwks: '${jwks}'
      outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: front-authenticated }
spec:
  targetRefs: [{ kind: Service, name: front }]
  rules: [{ from: [{ source: { requestPrincipals: ["${ISS}/*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ratings-callers }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  rules: [{ from: [{ source: { principals: [reviews] } }] }]
`);
});
afterAll(() => mesh?.stop());

const bearer = async (claims: Record<string, unknown> = { sub: "ann" }) => ({
  authorization: `Bearer ${await sign(claims)}`,
});

// What the gateway's and the service edges' stages decide (tokens, claims, policies) is tested in
// process (test/unit/edge/security.test.ts); here: identity across real bindings, the admin API, a key rotation.
describe("north-south: JWT at the gateway", () => {
  it("denies anonymous users by the policy that requires a principal", async () => {
    const res = await mesh.get("/");
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: "rbac_denied", policy: ["front-authenticated"] });
  });

  it("lets a valid token through, passing the principal to the service edge and the claim header", async () => {
    const res = await mesh.get("/", { headers: await bearer() });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ app: "front", caller: "gateway", principal: `${ISS}/ann` });
  });

  it("carries the identity on east-west calls: derived headers reach the next app, the token does not", async () => {
    const viaReviews = await mesh.get("/", {
      headers: { ...(await bearer({ sub: "ann" })), "x-jwt-sub": "admin", "x-forward-to": "REVIEWS,RATINGS" },
    });
    expect(viaReviews.status).toBe(200);
    expect(viaReviews.json().headers["x-jwt-sub"]).toBe("ann");
    expect(viaReviews.json().headers.authorization).toBeUndefined();
  });
});

describe("east-west: service identity from bindings", () => {
  it("allows reviews to call ratings and denies front, naming the policy", async () => {
    const ok = await mesh.get("/", { headers: { ...(await bearer()), "x-forward-to": "REVIEWS,RATINGS" } });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ service: "ratings", caller: "reviews" });
    const denied = await mesh.get("/", { headers: { ...(await bearer()), "x-forward-to": "RATINGS" } });
    expect(denied.json().error).toMatchObject({ code: "rbac_denied", policy: ["ratings-callers"] });
  });

  it("ignores an end-user principal an app forges on an east-west call", async () => {
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ratings-users }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
  action: DENY
  rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }]
`);
    const res = await mesh.get("/", {
      headers: { ...(await bearer()), "x-forward-to": "REVIEWS,RATINGS", "x-forward-spoof": `${ISS}/ann` },
    });
    expect(res.status).toBe(403);
    expect(res.json().error.policy).toBe("ratings-users");
  });
});

describe("admin API roles", () => {
  it("lets a viewer read but not change", async () => {
    expect((await mesh.admin("/v1/resources", { token: VIEWER_TOKEN })).status).toBe(200);
    const res = await mesh.admin("/v1/apply", { method: "POST", body: "{}", token: VIEWER_TOKEN });
    expect(res.status).toBe(403);
    expect(res.json().error.code).toBe("forbidden");
  });
  it("records who made each change", async () => {
    const history = (await mesh.admin("/v1/history")).json();
    expect(history.entries[0].by).toBe("admin");
  });
  it("refuses requests without a token", async () => {
    const res = await mesh.admin("/v1/version", { headers: { authorization: "" } });
    expect(res.status).toBe(401);
  });
});

describe("validation", () => {
  it.each([
    ["a private key in jwks", `{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}`, /private key/],
    ["a symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, /symmetric/],
  ])("rejects %s", async (_n, jwks, message) => {
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "isomesh.dev/v1",
        kind: "RequestAuthentication",
        metadata: { name: "bad" },
        spec: { targetRefs: [{ kind: "Gateway", name: "gateway" }], jwtRules: [{ issuer: "x", jwks }] },
      }),
    });
    expect(res.status).toBe(422);
    expect(res.json().errors[0].message).toMatch(message);
  });
});

// Last: it replaces the gateway's signing key, which every test above relies on.
describe("key rotation", () => {
  it("stops accepting a cached token as soon as its key is removed", async () => {
    const headers = await bearer({ sub: "ann" });
    expect((await mesh.get("/", { headers })).status).toBe(200);
    expect((await mesh.get("/", { headers })).status).toBe(200); // now served from the verified-token cache
    const fresh = await generateKeyPair("ES256", { extractable: true });
    const rotated = JSON.stringify({ keys: [{ ...(await exportJWK(fresh.publicKey)), kid: "k2", alg: "ES256" }] });
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: login }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  jwtRules: [{ issuer: ${ISS}, audiences: [shop], jwks: '${rotated}' }]
`);
    const res = await mesh.get("/", { headers });
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe("authn_failed");
  });
});

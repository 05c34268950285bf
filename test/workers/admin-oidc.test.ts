import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// The admin API's optional OIDC/JWT mode (manifest admin.oidc): the data plane's verifier, with
// the role read from a claim; admin tokens keep working beside it.

const ISS = "https://idp.example";
let mesh: TestMesh;
let sign: (claims: Record<string, unknown>, opts?: { exp?: string; iss?: string }) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "a1", alg: "ES256" }] });
  sign = (claims, o = {}) =>
    new SignJWT({ aud: "isomesh-admin", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "a1" })
      .setIssuer(o.iss ?? ISS)
      .setIssuedAt()
      .setExpirationTime(o.exp ?? "10m")
      .sign(privateKey);
  mesh = await startTestMesh(`name: oidc
services:
  - name: web
    versions: [{ name: v1, echo: true }]
admin:
  oidc:
    issuer: ${ISS}
    audiences: [isomesh-admin]
    jwks: '${jwks}'
    roleClaim: realm_access.roles
    editors: [mesh-admins]
    viewers: [mesh-viewers]
`);
});
afterAll(() => mesh?.stop());

const route = gatewayRouteTo("web");
const roles = (...r: string[]) => ({ sub: "ann", realm_access: { roles: r } });

describe("admin API: OIDC/JWT mode", () => {
  it("lets an editor from the identity provider apply, recording who did it", async () => {
    const token = await sign(roles("mesh-admins"));
    const res = await mesh.admin("/v1/apply", { method: "POST", body: route, token });
    expect(res.status).toBe(200);
    const history = (await mesh.admin("/v1/history", { token })).json();
    expect(history.entries.map((e: { by: string }) => e.by)).toContain(`${ISS}/ann`);
  });

  it("gives a viewer reads only", async () => {
    const token = await sign(roles("mesh-viewers"));
    expect((await mesh.admin("/v1/resources", { token })).status).toBe(200);
    const res = await mesh.admin("/v1/apply", { method: "POST", body: route, token });
    expect(res.status).toBe(403);
    expect(res.json().error.message).toContain("needs editor");
  });

  it("refuses a valid identity without a role with 403, naming the claim", async () => {
    const res = await mesh.admin("/v1/resources", { token: await sign(roles("someone-else")) });
    expect(res.status).toBe(403);
    expect(res.json().error.message).toContain('claim "realm_access.roles"');
  });

  it.each([
    ["expired", () => sign(roles("mesh-admins"), { exp: "-5m" }), /expired/],
    ["from another issuer", () => sign(roles("mesh-admins"), { iss: "https://evil.example" }), /issuer is not trusted/],
    ["for another audience", () => sign({ ...roles("mesh-admins"), aud: "some-other-app" }), /claim check failed/],
    [
      "unsigned (alg none)",
      async () =>
        `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: ISS, aud: "isomesh-admin", ...roles("mesh-admins") })).toString("base64url")}.`,
      /./,
    ],
    [
      "tampered",
      async () => {
        const [h, , s] = (await sign(roles("mesh-viewers"))).split(".");
        return `${h}.${Buffer.from(JSON.stringify({ iss: ISS, aud: "isomesh-admin", exp: 9999999999, ...roles("mesh-admins") })).toString("base64url")}.${s}`;
      },
      /signature/,
    ],
  ])("refuses a token %s with 401", async (_label, make, message) => {
    const res = await mesh.admin("/v1/resources", { token: await make() });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toContain("Bearer");
    expect(res.json().error.message).toMatch(message);
  });

  it("keeps admin tokens working beside it", async () => {
    expect((await mesh.admin("/v1/version")).status).toBe(200);
  });
});

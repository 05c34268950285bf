import { describe, expect, it } from "vitest";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { AdminOidc, roleFromClaims } from "../../shared/security/admin-oidc.ts";

const base = { issuer: "https://idp.example", audiences: ["isomesh-admin"], jwksUri: "https://idp.example/jwks" };

describe("admin OIDC roles", () => {
  const oidc = AdminOidc.parse({ ...base, roleClaim: "groups", editors: ["ops"], viewers: ["dev"] });
  it.each([
    [{ groups: ["dev", "ops"] }, "editor"],
    [{ groups: ["dev"] }, "viewer"],
    [{ groups: "dev other" }, "viewer"], // space-separated, like OAuth scope
    [{ groups: ["other"] }, undefined],
    [{ groups: [1, { ops: true }] }, undefined],
    [{}, undefined],
  ])("%j → %s", (claims, role) => expect(roleFromClaims(oidc, claims)).toBe(role));

  it("reads nested claims by dotted path, and claim names that contain dots as they are", () => {
    const nested = AdminOidc.parse({ ...base, roleClaim: "realm_access.roles" });
    expect(roleFromClaims(nested, { realm_access: { roles: ["editor"] } })).toBe("editor");
    const namespaced = AdminOidc.parse({ ...base, roleClaim: "https://isomesh.dev/role" });
    expect(roleFromClaims(namespaced, { "https://isomesh.dev/role": "viewer" })).toBe("viewer");
  });

  it.each([
    [
      "no audience",
      "    issuer: https://i\n    audiences: []\n    jwksUri: https://i/jwks\n",
      /admin\.oidc\.audiences: name the audience/,
    ],
    ["no keys", "    issuer: https://i\n    audiences: [a]\n", /exactly one of jwks or jwksUri/],
    [
      "an http JWKS",
      "    issuer: https://i\n    audiences: [a]\n    jwksUri: http://i/jwks\n",
      /jwksUri must be https/,
    ],
    [
      "a private key",
      `    issuer: https://i\n    audiences: [a]\n    jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}'\n`,
      /private key/,
    ],
  ])("the manifest refuses %s", (_label, oidcYaml, message) => {
    const text = `name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\nadmin:\n  oidc:\n${oidcYaml}`;
    expect(() => parseManifest(text, "mesh.yaml")).toThrow(message);
  });
});

// workerd's crypto.subtle has timingSafeEqual; Node's does not (the admin auth runs in workerd).
const subtle = crypto.subtle as unknown as { timingSafeEqual?: (a: ArrayBuffer, b: ArrayBuffer) => boolean };
subtle.timingSafeEqual ??= (a, b) => Buffer.from(new Uint8Array(a)).equals(Buffer.from(new Uint8Array(b)));

describe("admin auth with a broken ADMIN_OIDC", () => {
  it("keeps admin tokens working and refuses JWTs, saying why", async () => {
    const { authenticateAdmin } = await import("../../workers/control/api/auth.ts");
    const env = {
      ADMIN_TOKEN: "static-editor-token-0123456789",
      ADMIN_OIDC: JSON.stringify({ issuer: "https://i", audiences: [] }),
    } as never;
    expect(await authenticateAdmin(env, "static-editor-token-0123456789")).toEqual({
      ok: true,
      principal: { name: "admin", role: "editor" },
    });
    const jwt = await authenticateAdmin(env, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln");
    expect(jwt).toMatchObject({ ok: false, status: 401 });
    expect((jwt as { message: string }).message).toMatch(/ADMIN_OIDC\) is invalid: audiences: name the audience/);
  });
});

describe("admin auth with a broken ADMIN_TOKENS secret", () => {
  it("keeps ADMIN_TOKEN working and says what is wrong with the secret", async () => {
    const { authenticateAdmin } = await import("../../workers/control/api/auth.ts");
    const env = {
      ADMIN_TOKEN: "break-glass-token-0123456789",
      ADMIN_TOKENS: '[{"name":"ops","token":"short","role":"editor"}]',
    } as never;
    expect(await authenticateAdmin(env, "break-glass-token-0123456789")).toMatchObject({ ok: true });
    const other = await authenticateAdmin(env, "short");
    expect(other).toMatchObject({ ok: false, status: 401 });
    expect((other as { message: string }).message).toMatch(/ADMIN_TOKENS secret is invalid: 0\.token/);
  });
});

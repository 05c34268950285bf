import { describe, expect, it } from "vitest";
import { claimHeaderValue, derivedHeaders, outputHeadersOf } from "../../shared/security/claim-headers.ts";
import { claimsHeaderOf, decodeIdentity } from "../../shared/security/identity-headers.ts";
import type { CompiledJwtRule } from "../../shared/security/authn.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64url");
const claims = { iss: "https://login.example", sub: "ann", role: "blocked", groups: ["a", "b"] };
const header = b64(JSON.stringify(claims));
const principal = "https://login.example/ann";

describe("identity from the gateway: carried whole, read fail-closed", () => {
  it("carries a token's payload segment as it is, whatever its size", () => {
    const big = { ...claims, groups: Array.from({ length: 400 }, (_, i) => `group-${i}`) };
    const token = `${b64('{"alg":"ES256"}')}.${b64(JSON.stringify(big))}.sig`;
    const carried = claimsHeaderOf(token);
    expect(carried.length).toBeGreaterThan(4096);
    expect(decodeIdentity(principal, carried)).toEqual({ ok: true, identity: { principal, claims: big } });
  });

  it.each([
    ["no identity", null, null, { ok: true }],
    ["a principal and its claims", principal, header, { ok: true, identity: { principal, claims } }],
  ] as const)("%s", (_name, p, c, expected) => expect(decodeIdentity(p, c)).toEqual(expected));

  it.each([
    ["a principal without claims", principal, null, /without its claims/],
    ["claims without a principal", null, header, /without their principal/],
    ["a principal that is not the claims' iss/sub", "https://login.example/root", header, /not the claims/],
    ["claims that are not base64url", principal, "not base64!", /not base64url/],
    ["claims that are not JSON", principal, b64("{nope"), /not base64url JSON/],
    [
      "claims that are not UTF-8",
      principal,
      Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url"),
      /not base64url JSON/,
    ],
    ["claims that are a list", principal, b64("[1,2]"), /not a JSON object/],
    ["claims that are null", principal, b64("null"), /not a JSON object/],
    ["claims larger than a token may be", principal, "a".repeat(8193), /larger than 8192/],
  ])("refuses %s (never reads it as anonymous)", (_name, p, c, reason) => {
    const r = decodeIdentity(p, c);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

const rule = (outputs: { header: string; claim: string }[], issuer = "https://login.example"): CompiledJwtRule => ({
  policy: "p",
  issuer,
  audiences: [],
  fromHeaders: [],
  fromParams: [],
  forwardOriginalToken: false,
  outputClaimToHeaders: outputs,
  clockSkewSeconds: 60,
  requireExpiration: false,
});

describe("claim-derived headers (outputClaimToHeaders)", () => {
  const rules = [
    rule([
      { header: "X-User", claim: "sub" },
      { header: "x-groups", claim: "groups" },
    ]),
    rule([{ header: "x-other", claim: "sub" }], "https://other.example"),
  ];
  const all = outputHeadersOf(rules);

  it("names every header any rule writes, lower-case", () => expect(all).toEqual(["x-user", "x-groups", "x-other"]));

  it.each([
    [
      "a verified identity sets its rule's headers and removes the rest",
      [rules[0]],
      claims,
      [
        ["x-user", "ann"],
        ["x-groups", '["a","b"]'],
        ["x-other", undefined],
      ],
    ],
    [
      "no identity removes them all",
      [],
      undefined,
      [
        ["x-user", undefined],
        ["x-groups", undefined],
        ["x-other", undefined],
      ],
    ],
    [
      "a claim the token lacks removes its header",
      [rules[0]],
      { sub: "ann" },
      [
        ["x-user", "ann"],
        ["x-groups", undefined],
        ["x-other", undefined],
      ],
    ],
  ] as const)("%s", (_name, verifiedBy, c, expected) =>
    expect(derivedHeaders(all, [...verifiedBy], c)).toEqual(expected),
  );

  it.each([
    ["ann", "ann"],
    [42, "42"],
    [true, "true"],
    [["a", "b"], '["a","b"]'],
    ["line\r\nbreak: injected", '"line\\r\\nbreak: injected"'],
    ["José", '"Jos\\u00e9"'],
    ["日本", '"\\u65e5\\u672c"'],
    [null, undefined],
  ])("%j is sent as %j", (value, expected) => expect(claimHeaderValue(value)).toBe(expected));
});

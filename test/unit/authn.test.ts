import { describe, expect, it } from "vitest";
import { type CompiledJwtRule, findToken, judgeClaims, tokenLocations } from "../../shared/security/authn.ts";

const rule = (over: Partial<CompiledJwtRule> = {}): CompiledJwtRule => ({
  policy: "p",
  issuer: "https://i",
  audiences: [],
  fromHeaders: [],
  fromParams: [],
  forwardOriginalToken: false,
  outputClaimToHeaders: [],
  clockSkewSeconds: 60,
  requireExpiration: false,
  ...over,
});

describe("where tokens are looked for", () => {
  it.each([
    ["Authorization: Bearer by default", [rule()], [{ header: "authorization", prefix: "Bearer " }]],
    [
      "the rules' headers and params, once each",
      [rule({ fromHeaders: [{ name: "X-Token", prefix: "" }], fromParams: ["t"] }), rule({ fromParams: ["t"] })],
      [
        { header: "x-token", prefix: "" },
        { param: "t", prefix: "" },
      ],
    ],
  ])("%s", (_n, rules, locations) => expect(tokenLocations(rules)).toEqual(locations));

  const locations = tokenLocations([
    rule({ fromHeaders: [{ name: "authorization", prefix: "Bearer " }], fromParams: ["access_token"] }),
  ]);
  it.each([
    [
      "a bearer token",
      { authorization: "Bearer abc" },
      "",
      { token: "abc", at: { header: "authorization", prefix: "Bearer " } },
    ],
    [
      "the prefix case-insensitively",
      { authorization: "bearer  abc " },
      "",
      { token: "abc", at: { header: "authorization", prefix: "Bearer " } },
    ],
    [
      "a parameter when the header lacks the prefix",
      { authorization: "Basic x" },
      "?access_token=q",
      { token: "q", at: { param: "access_token", prefix: "" } },
    ],
    ["nothing", {}, "?other=1", undefined],
  ])("finds %s", (_n, headers, search, found) =>
    expect(findToken(new Headers(headers), new URLSearchParams(search), locations)).toEqual(found),
  );
});

describe("claims assumed verified (synthetic explain)", () => {
  const rules = [rule({ audiences: ["shop"] })];
  it.each([
    [
      { iss: "https://i", aud: "shop" },
      { ok: true, rule: rules[0] },
    ],
    [
      { iss: "https://i", aud: ["x", "shop"] },
      { ok: true, rule: rules[0] },
    ],
    [{ iss: "https://other" }, { ok: false, reason: 'issuer "https://other" is not trusted here' }],
    [
      { iss: "https://i", aud: "other" },
      { ok: false, reason: 'audience "other" is not one of shop', policy: "p" },
    ],
  ])("%j → %j", (claims, verdict) => expect(judgeClaims(rules, claims)).toEqual(verdict));
});

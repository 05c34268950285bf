import { describe, expect, it } from "vitest";
import type { KeySource } from "../../shared/resources/traffic-policy.ts";
import { requestKey } from "../../shared/routing/request-key.ts";

const facts = {
  headers: new Headers({
    "x-user": "ann",
    cookie: "a=1; session=s%20p; bad=%zz",
    "x-forwarded-for": "10.0.0.1, 10.0.0.2",
  }),
  host: "shop.example",
  caller: "front",
  claims: { sub: "ann", tier: 2 },
};

describe("requestKey: what a rate limit or a sticky session is keyed on", () => {
  it.each<[string, KeySource | undefined, string | undefined]>([
    ["no key: one key for everyone", undefined, "*"],
    ["a header", { header: "x-user" }, "ann"],
    ["a missing header", { header: "x-none" }, undefined],
    ["a cookie, decoded", { cookie: "session" }, "s p"],
    ["a cookie with a malformed escape, kept raw", { cookie: "bad" }, "%zz"],
    ["a missing cookie", { cookie: "none" }, undefined],
    ["a claim, as text", { claim: "tier" }, "2"],
    ["a missing claim", { claim: "none" }, undefined],
    ["the calling service", { caller: true }, "front"],
    ["the request's host", { host: true }, "shop.example"],
    ["the client IP from X-Forwarded-For where Cloudflare's header is absent", { clientIp: true }, "10.0.0.1"],
  ])("%s", (_n, source, expected) => expect(requestKey(source, facts)).toBe(expected));

  it("prefers CF-Connecting-IP, which Cloudflare overwrites", () => {
    expect(
      requestKey(
        { clientIp: true },
        { ...facts, headers: new Headers({ "cf-connecting-ip": "203.0.113.9", "x-forwarded-for": "1.2.3.4" }) },
      ),
    ).toBe("203.0.113.9");
  });
});

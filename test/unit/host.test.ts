import { describe, expect, it } from "vitest";
import { canonicalHostHeader, normalizeHost, withoutTrailingDots } from "../../shared/routing/host.ts";

describe("host normalization: one host for routing, policy and telemetry", () => {
  it.each([
    ["example.com", "example.com", "example.com"],
    ["EXAMPLE.com.", "example.com", "example.com"],
    ["example.com.:8080", "example.com", "example.com:8080"],
    ["Example.COM:443", "example.com", "example.com:443"],
    ["example.com..", "example.com", "example.com"],
    [" example.com ", "example.com", "example.com"],
    ["[::1]:8787", "[::1]", "[::1]:8787"],
    ["127.0.0.1:8787", "127.0.0.1", "127.0.0.1:8787"],
    ["*.Example.com", "*.example.com", "*.example.com"],
  ])("%s is %s (the backend gets %s)", (raw, host, header) => {
    expect(normalizeHost(raw)).toBe(host);
    expect(canonicalHostHeader(raw)).toBe(header);
  });
});

describe("trailing dots", () => {
  it.each([
    ["shop.example.", "shop.example"],
    ["shop.example...", "shop.example"],
    ["a..b.", "a..b"],
    ["...", ""],
    ["shop.example", "shop.example"],
  ])("%j is %j", (raw, host) => expect(withoutTrailingDots(raw)).toBe(host));
});

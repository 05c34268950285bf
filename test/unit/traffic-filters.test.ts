import { describe, expect, it } from "vitest";
import { mirrorFires, modifyHeaders, redirectLocation, replacePrefix, rewrite } from "../../shared/routing/filters.ts";

describe("ReplacePrefixMatch (Gateway API)", () => {
  it.each([
    ["/prefix/one/two", "/prefix/one", "/one", "/one/two"],
    ["/prefix/one", "/prefix/one", "/one", "/one"],
    ["/prefix/one/two", "/prefix/one", "/", "/two"],
    ["/prefix/one", "/prefix/one", "/", "/"],
    ["/prefix/one/two", "/prefix/one/", "/one/", "/one/two"],
    ["/a/b", "/", "/x", "/x/a/b"],
  ])("%s with prefix %s → %s gives %s", (path, prefix, repl, expected) =>
    expect(replacePrefix(path, prefix, repl)).toBe(expected),
  );
});

describe("RequestRedirect", () => {
  const req = { scheme: "http", host: "shop.example", port: "8080", path: "/old/x", search: "?q=1" };
  it.each([
    [
      "scheme only: well-known port for the new scheme",
      { scheme: "https" as const, statusCode: 302 as const },
      "https://shop.example/old/x?q=1",
    ],
    ["nothing: keeps the request port", { statusCode: 302 as const }, "http://shop.example:8080/old/x?q=1"],
    [
      "explicit port",
      { port: 9443, scheme: "https" as const, statusCode: 301 as const },
      "https://shop.example:9443/old/x?q=1",
    ],
    [
      "hostname + full path",
      {
        hostname: "new.example",
        path: { type: "ReplaceFullPath" as const, replaceFullPath: "/n" },
        statusCode: 302 as const,
      },
      "http://new.example:8080/n?q=1",
    ],
    [
      "prefix replace",
      { path: { type: "ReplacePrefixMatch" as const, replacePrefixMatch: "/new" }, statusCode: 302 as const },
      "http://shop.example:8080/new/x?q=1",
    ],
  ])("%s", (_n, r, expected) => expect(redirectLocation(r, req, "/old")).toBe(expected));

  it("omits port 80 for http", () =>
    expect(redirectLocation({ statusCode: 302 }, { ...req, port: undefined }, "/old")).toBe(
      "http://shop.example/old/x?q=1",
    ));
});

describe("URLRewrite and header modifiers", () => {
  it("rewrites host and prefix", () =>
    expect(
      rewrite(
        { hostname: "b", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } },
        { host: "a", path: "/v1/x" },
        "/v1",
      ),
    ).toEqual({ host: "b", path: "/v2/x" }));
  it("sets, adds and removes headers", () => {
    const h = new Headers({ a: "1", b: "2", c: "3" });
    modifyHeaders(h, { set: [{ name: "A", value: "x" }], add: [{ name: "b", value: "y" }], remove: ["c"] });
    expect([...h]).toEqual([
      ["a", "x"],
      ["b", "2, y"],
    ]);
  });
  it("fires mirrors by percent or fraction", () => {
    expect(mirrorFires({ backendRef: { name: "s" }, percent: 10 }, 0.05)).toBe(true);
    expect(mirrorFires({ backendRef: { name: "s" }, percent: 10 }, 0.15)).toBe(false);
    expect(mirrorFires({ backendRef: { name: "s" }, fraction: { numerator: 1, denominator: 4 } }, 0.2)).toBe(true);
    expect(mirrorFires({ backendRef: { name: "s" } }, 0.99)).toBe(true);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizePath, type PathNormalization, removeDotSegments } from "../../shared/routing/normalize-path.ts";

const BASE: PathNormalization = { mergeSlashes: false, escapedSlashes: "keep" };
const MERGE: PathNormalization = { mergeSlashes: true, escapedSlashes: "keep" };
const DECODE: PathNormalization = { mergeSlashes: true, escapedSlashes: "unescape" };
const REJECT: PathNormalization = { mergeSlashes: true, escapedSlashes: "reject" };

describe("normalizePath (RFC 3986 §6.2.2, Istio's options)", () => {
  it.each([
    // [input, options, expected]
    ["/admin", BASE, "/admin"],
    ["/%61dmin", BASE, "/admin"],
    ["/%61%64%6D%69%6e", BASE, "/admin"],
    ["/%7e%2D%2e%5F", BASE, "/~-._"],
    ["/a%2fb", BASE, "/a%2Fb"],
    ["/a%3fb%23c%20d", BASE, "/a%3Fb%23c%20d"],
    ["/%252e%252e/admin", BASE, "/%252e%252e/admin"], // decoded once, never twice
    ["/%2561", BASE, "/%2561"],
    ["/a/%2e%2E/admin", BASE, "/admin"],
    ["/a/./b/../c", BASE, "/a/c"],
    ["/../../admin", BASE, "/admin"],
    ["/a/..", BASE, "/"],
    ["/a/.", BASE, "/a/"],
    ["/a\\b", BASE, "/a/b"],
    ["/100%", BASE, "/100%25"],
    ["/%zz/%4", BASE, "/%25zz/%254"],
    ["/%%36%31dmin", BASE, "/%2561dmin"], // a bare % never pairs with decoded characters into a new escape (%61, /admin to an app)
    ["/%%32%65%%32%65/admin", BASE, "/%252e%252e/admin"],
    ["/é", BASE, "/é"],
    ["//admin", BASE, "//admin"],
    ["//admin", MERGE, "/admin"],
    ["/x/..//admin", MERGE, "/admin"],
    ["/a%2fb", MERGE, "/a%2Fb"],
    ["/a%2fb", DECODE, "/a/b"],
    ["/a%5Cb", DECODE, "/a/b"],
    ["/x%2F..%2Fadmin", DECODE, "/admin"],
    ["/a//b%2F%2Fc", DECODE, "/a/b/c"],
  ] as const)("%s (%o) is %s", (input, options, expected) => {
    expect(normalizePath(input, options)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ["/a%00b", BASE, /NUL/],
    ["/a%2Fb", REJECT, /escaped slash/],
    ["/a%5cb", REJECT, /escaped slash/],
  ] as const)("refuses %s", (input, options, reason) => {
    const r = normalizePath(input, options);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });

  it("leaves a plain path as it is (the fast path)", () => {
    expect(normalizePath("/api/v1/products/0")).toEqual({ ok: true, path: "/api/v1/products/0" });
  });

  const pathChars = fc.constantFrom(..."/.%2fF5cCa0~-_\\".split(""), "%2e", "%2F", "%5C", "%41", "%7e", "..", "//");
  const path = fc.array(pathChars, { maxLength: 24 }).map((parts) => `/${parts.join("")}`);

  it.each([BASE, MERGE, DECODE])("is idempotent and survives the URL parser unchanged (%o)", (options) => {
    fc.assert(
      fc.property(path, (raw) => {
        const url = new URL(`http://h${raw.replace(/\\/g, "/")}`);
        const first = normalizePath(url.pathname, options);
        if (!first.ok) return;
        expect(normalizePath(first.path, options)).toEqual(first);
        url.pathname = first.path;
        expect(url.pathname).toBe(first.path);
        expect(first.path).not.toMatch(/%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)/i); // no unreserved escape left
        expect(first.path).not.toMatch(/%(?![0-9A-F]{2})/); // every % starts an upper-case escape
        if (options.mergeSlashes) expect(first.path).not.toContain("//");
      }),
    );
  });
});

describe("removeDotSegments (RFC 3986 §5.2.4)", () => {
  it.each([
    ["/a/b/c/./../../g", "/a/g"],
    ["/mid/content=5/../6", "/mid/6"],
    ["/a/b/..", "/a/"],
    ["/", "/"],
  ])("%s is %s", (input, expected) => expect(removeDotSegments(input)).toBe(expected));
});

import { describe, expect, it } from "vitest";
import type { Decision } from "../../shared/explain/record.ts";
import type { RouteFilter } from "../../shared/resources/http-route.ts";
import { applyFilters } from "../../shared/routing/filters.ts";

const prefix = { type: "PathPrefix" as const, value: "/v1" };
const run = (
  filters: RouteFilter[],
  url = "http://shop.example:8080/v1/items?q=1",
  clientHost = "shop.example:8080",
) => {
  const req = {
    url: new URL(url),
    headers: new Headers({ host: clientHost, "x-drop": "1" }),
    clientHost,
    host: "shop.example",
  };
  const notes: Decision[] = [];
  const out = applyFilters({ filters, path: prefix }, req, (d) => notes.push(d));
  return { out, req, notes: notes.map((n) => n.decision) };
};

describe("a rule's filters, as the edge and explain apply them", () => {
  it("modifies request headers and collects response header modifiers", () => {
    const { out, req, notes } = run([
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: { set: [{ name: "x-team", value: "blue" }], add: [], remove: ["x-drop"] },
      },
      {
        type: "ResponseHeaderModifier",
        responseHeaderModifier: { set: [], add: [{ name: "x-served-by", value: "isomesh" }], remove: [] },
      },
    ]);
    expect([req.headers.get("x-team"), req.headers.get("x-drop")]).toEqual(["blue", null]);
    expect(out).toEqual({
      responseHeaders: [{ set: [], add: [{ name: "x-served-by", value: "isomesh" }], remove: [] }],
    });
    expect(notes).toEqual(["modified request headers"]);
  });

  it("rewrites host (dropping the port) and prefix, and the Host header with them", () => {
    const { req, notes } = run([
      {
        type: "URLRewrite",
        urlRewrite: { hostname: "internal.example", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/api" } },
      },
    ]);
    expect(req.url.toString()).toBe("http://internal.example/api/items?q=1");
    expect(req.headers.get("host")).toBe("internal.example");
    expect(notes).toEqual(["rewrote shop.example/v1/items to internal.example/api/items"]);
  });

  it("decides a redirect, keeping the client's port unless the scheme changes", () => {
    expect(run([{ type: "RequestRedirect", requestRedirect: { statusCode: 302 } }]).out.redirect).toEqual({
      status: 302,
      location: "http://shop.example:8080/v1/items?q=1",
    });
    expect(
      run([{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }]).out.redirect,
    ).toEqual({ status: 301, location: "https://shop.example/v1/items?q=1" });
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze } from "../../shared/analyze/index.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { pickBackend } from "../../shared/routing/split.ts";
import { redirectLocation, rewrite } from "../../shared/routing/filters.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";

const topology = {
  mesh: "p",
  services: [
    { name: "a", versions: ["v1", "v2"], calls: [] },
    { name: "b", versions: ["v1"], calls: [] },
  ],
};

const segment = fc.constantFrom("", "a", "b", "shop", "x-y", "1", "%20", "..");
const path = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join("/")}`);
const regex = fc.constantFrom("/a.*", "[", "(a+)+", "/[0-9]+", ".*", "a{2,}", "(?:x|y)");
const match = fc.record(
  {
    path: fc.oneof(
      fc.record({ type: fc.constant("Exact"), value: path }),
      fc.record({ type: fc.constant("PathPrefix"), value: path }),
      fc.record({ type: fc.constant("RegularExpression"), value: regex }),
    ),
    headers: fc.array(
      fc.record({ name: fc.constantFrom("x-a", "end-user", "bad header"), value: fc.constantFrom("1", "jason") }),
      { maxLength: 2 },
    ),
    method: fc.constantFrom("GET", "POST", "BREW"),
  },
  { requiredKeys: [] },
);
const backendRef = fc.record({ name: fc.constantFrom("a", "b", "c"), weight: fc.integer({ min: -2, max: 5 }) });
const filter = fc.oneof(
  fc.record({
    type: fc.constant("RequestRedirect"),
    requestRedirect: fc.record(
      { path: fc.record({ type: fc.constant("ReplacePrefixMatch"), replacePrefixMatch: path }) },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    type: fc.constant("URLRewrite"),
    urlRewrite: fc.record(
      {
        hostname: fc.constantFrom("h.example", "BAD HOST"),
        path: fc.record({ type: fc.constant("ReplaceFullPath"), replaceFullPath: path }),
      },
      { requiredKeys: [] },
    ),
  }),
);
const route = fc.record({
  hostnames: fc.array(fc.constantFrom("a.example", "*.example", "Bad_Host"), { maxLength: 2 }),
  rules: fc.array(
    fc.record(
      {
        matches: fc.array(match, { maxLength: 3 }),
        backendRefs: fc.array(backendRef, { maxLength: 3 }),
        filters: fc.array(filter, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 4 },
  ),
});
const request = fc.record({
  path,
  host: fc.constantFrom("a.example", "b.example", "c.other"),
  method: fc.constantFrom("GET", "POST"),
  user: fc.constantFrom("jason", "bob"),
});

describe("property: any config fails validation or routes every request without throwing", () => {
  it("holds for generated routes and requests", () => {
    fc.assert(
      fc.property(
        fc.array(route, { minLength: 1, maxLength: 3 }),
        fc.array(request, { minLength: 1, maxLength: 5 }),
        (routes, requests) => {
          const docs = routes.map((spec, i) => ({
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: `r${i}` },
            spec: { parentRefs: [{ name: "gateway" }], ...spec },
          }));
          const { parsed, errors } = validateDocuments(docs);
          if (errors.length) return;
          if (
            analyze(
              topology,
              parsed.map((p) => p.resource),
            ).errors.length
          )
            return;
          const snapshot = compileSnapshot(
            topology,
            "gateway",
            parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
            1,
          );
          const table = new RouteTable(snapshot.vhosts, snapshot);
          for (const r of requests) {
            const facts = factsOf(
              r.method ?? "GET",
              new URL(`http://${r.host}${r.path}`),
              new Headers({ host: r.host, "end-user": r.user }),
            );
            const hit = table.match(facts);
            if (!hit) continue;
            pickBackend(hit.backends, Math.random());
            for (const f of hit.filters) {
              const prefix = hit.path.type === "PathPrefix" ? hit.path.value : undefined;
              if (f.type === "RequestRedirect")
                expect(
                  () =>
                    new URL(
                      redirectLocation(
                        f.requestRedirect,
                        { scheme: "http", host: facts.host, path: facts.path, search: "" },
                        prefix,
                      ),
                    ),
                ).not.toThrow();
              if (f.type === "URLRewrite")
                expect(rewrite(f.urlRewrite, { host: facts.host, path: facts.path }, prefix).path.startsWith("/")).toBe(
                  true,
                );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

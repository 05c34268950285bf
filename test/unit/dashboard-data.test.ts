import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { emptyBuckets } from "../../shared/histogram.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { configuredSplit } from "../../shared/snapshot/split-summary.ts";
import { timeline } from "../../shared/telemetry/timeline.ts";

const row = (window: number, count: number, code = 200) => {
  const buckets = emptyBuckets();
  buckets[3] = count;
  return {
    window,
    reporter: "web-edge",
    source: "gateway",
    destination: "web",
    version: "v1",
    route: "r",
    code,
    count,
    sumMs: count,
    buckets,
    retries: 0,
    flags: {},
  };
};

describe("sparkline history (GET /v1/stats/history)", () => {
  it("has a point per 10 s step for every service, traffic or not; the running step is rated by its elapsed time", () => {
    const now = 1_000_055_000; // 5 s into the step that started at ..050_000
    const t = timeline(
      [row(1_000_020_000, 20), row(1_000_020_000, 10, 503), row(1_000_050_000, 5)],
      (s) => s.destination,
      ["web", "api"],
      now - 60_000,
      now,
      10_000,
    );
    const web = t.get("web")!;
    expect(web.map((p) => p.requests)).toEqual([0, 0, 0, 30, 0, 0, 5]);
    expect(web[3]).toMatchObject({ at: new Date(1_000_020_000).toISOString(), rps: 3, successRate: 0.667 });
    expect(web[6]).toMatchObject({ rps: 1, successRate: 1 });
    expect(web[0]).toMatchObject({ rps: 0, successRate: null, p99: null });
    expect(t.get("api")!.every((p) => p.requests === 0)).toBe(true);
  });
});

const topology = { mesh: "m", services: [{ name: "reviews", versions: ["v1", "v2", "v3"], calls: [] }] };
const compile = (yaml: string) => {
  const { parsed, errors } = validateDocuments(yaml ? yaml.split("\n---\n").map((d) => parse(d)) : []);
  expect(errors).toEqual([]);
  return compileSnapshot(
    topology,
    "reviews-edge",
    parsed.map((p) => ({ resource: p.resource, createdAt: 0 })),
    1,
  );
};

describe("configured split (GET /v1/splits), read from the compiled snapshot", () => {
  it("is an equal split with no route", () => {
    expect(configuredSplit(compile(""))).toEqual([
      {
        source: "default (no route)",
        match: "",
        weights: [
          { version: "v1", percent: 33.3 },
          { version: "v2", percent: 33.3 },
          { version: "v3", percent: 33.3 },
        ],
      },
    ]);
  });

  it("lists matching rules first and the catch-all's weights in percent", () => {
    const split = configuredSplit(
      compile(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: reviews, version: v2 }]
    - backendRefs: [{ name: reviews, version: v1, weight: 3 }, { name: reviews, version: v3, weight: 1 }]`),
    );
    expect(split).toEqual([
      { source: "HTTPRoute/reviews rule 0", match: "end-user: jason", weights: [{ version: "v2", percent: 100 }] },
      {
        source: "HTTPRoute/reviews rule 1",
        match: "",
        weights: [
          { version: "v1", percent: 75 },
          { version: "v3", percent: 25 },
        ],
      },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import type { TelemetryBatch } from "../../shared/control-api.ts";
import { emptyBuckets } from "../../shared/histogram.ts";
import type { Topology } from "../../shared/manifest/topology.ts";
import { edgeBinding, GATEWAY } from "../../shared/names.ts";
import { admit, holderCaller, reportScope } from "../../workers/control/report-scope.ts";

// What each CONTROL binding's holder may report (workers/control/report-scope.ts): `web` runs at its
// edge and calls inline `api`; `api` is inline and calls inline `db`; `ops` calls the egress edge.
const topology: Topology = {
  mesh: "m",
  services: [
    { name: "web", versions: ["v1"], calls: ["api"] },
    { name: "api", versions: ["v1", "v2"], calls: ["db"], dataPlane: "inline" },
    { name: "db", versions: ["v1"], calls: [], dataPlane: "inline" },
    { name: "ops", versions: ["v1"], calls: [], egress: true },
  ],
  egress: { certificates: [] },
};

const edgesOf = (caller: Parameters<typeof reportScope>[1]) => [...reportScope(topology, caller).edges].sort();

describe("the edges a binding's holder speaks for", () => {
  it.each([
    [
      "the gateway: its own and every inline service's outbound half",
      { edge: GATEWAY },
      ["api-edge", "db-edge", "gateway"],
    ],
    ["a service edge: its own", { edge: "web-edge" }, ["web-edge"]],
    ["the egress edge", { edge: "egress" }, ["egress"]],
    ["no Worker runs an inline service's edge", { edge: "api-edge" }, []],
    ["an unknown edge", { edge: "nope-edge" }, []],
    [
      "an inline app: its inbound half and its inline callee's outbound half",
      { service: "api", version: "v2" },
      ["api-edge", "db-edge"],
    ],
    ["an edge-mode app calling an inline service: that callee's half", { service: "web", version: "v1" }, ["api-edge"]],
    ["a version the service does not have", { service: "api", version: "v9" }, []],
    ["an unknown service", { service: "evil", version: "v1" }, []],
  ])("%s", (_name, caller, edges) => {
    expect(edgesOf(caller)).toEqual(edges);
  });
});

const series = (reporter: string, source: string, destination: string) => ({
  reporter,
  source,
  destination,
  version: "v1",
  route: "r",
  code: 200,
  count: 1,
  sumMs: 1,
  buckets: emptyBuckets(),
  retries: 0,
  flags: {},
});
const report = (edge: string, isolate: string) => ({ edge, isolate, version: 3, hash: "h", state: "synced" as const });
const batch = (over: Partial<TelemetryBatch>): TelemetryBatch => ({
  report: report("api-edge", "api/v2#1"),
  windowStart: 0,
  series: [],
  spans: [],
  explains: [],
  ...over,
});

describe("what an inline app's isolate may send", () => {
  const scope = reportScope(topology, { service: "api", version: "v2" });

  it("its own isolate's reports of the edges it holds, not another isolate's nor another edge's", () => {
    const { admitted, refused } = admit(
      scope,
      batch({
        reports: [
          report("db-edge", "api/v2#1"),
          report("gateway", "api/v2#1"),
          report("db-edge", "gw#1"),
          report("api-edge", "api/v1#1"),
        ],
      }),
    );
    expect(admitted.reports.map((r) => `${r.edge} ${r.isolate}`)).toEqual(["api-edge api/v2#1", "db-edge api/v2#1"]);
    expect(refused).toEqual([
      "report of edge gateway (isolate api/v2#1)",
      "report of edge db-edge (isolate gw#1)",
      "report of edge api-edge (isolate api/v1#1)",
    ]);
  });

  it("a series only for a call its service made or received, counted at the callee's edge", () => {
    const { admitted, refused } = admit(
      scope,
      batch({
        series: [
          series("db-edge", "api", "db"), // its call to db, counted by db's outbound half here
          { ...series("db-edge", "api", "db"), mirror: true },
          series("db-edge", "web", "db"), // a pair it is not part of
          series("gateway", "gateway", "api"), // as the gateway
          series("db-edge", "api", "web"), // a destination the reporter does not serve
          series("web-edge", "web", "api"),
        ],
      }),
    );
    expect(
      admitted.series.map((s) => `${s.reporter} ${s.source}→${s.destination}${s.mirror ? " mirror" : ""}`),
    ).toEqual(["db-edge api→db", "db-edge api→db mirror"]);
    expect(refused).toHaveLength(4);
  });

  it("spans and decision records of the edges it holds only", () => {
    const span = (edge: string) => ({
      traceId: "t",
      spanId: "s",
      service: "x",
      edge,
      name: "n",
      startMs: 0,
      durationMs: 1,
      status: 200,
      attributes: {},
    });
    const hop = (edge: string) => ({
      id: "i",
      traceId: "t",
      spanId: "s",
      edge,
      caller: "c",
      method: "GET",
      url: "http://x/",
      at: 0,
      decisions: [],
    });
    const { admitted, refused } = admit(
      scope,
      batch({ spans: [span("db-edge"), span("gateway")], explains: [hop("api-edge"), hop("web-edge")] }),
    );
    expect(admitted.spans.map((s) => s.edge)).toEqual(["db-edge"]);
    expect(admitted.explains.map((e) => e.edge)).toEqual(["api-edge"]);
    expect(refused).toEqual(["span of edge gateway", "decision record of edge web-edge"]);
  });
});

describe("what an edge Worker may send", () => {
  it("the gateway: its own series and those of the inline halves it runs, from any caller", () => {
    const { admitted, refused } = admit(
      reportScope(topology, { edge: GATEWAY }),
      batch({
        report: report("gateway", "abc"),
        reports: [report("api-edge", "abc")],
        series: [
          series("gateway", "external", "web"),
          series("api-edge", "gateway", "api"),
          series("web-edge", "gateway", "web"),
        ],
      }),
    );
    expect(admitted.reports.map((r) => r.edge)).toEqual(["gateway", "api-edge"]);
    expect(admitted.series.map((s) => s.reporter)).toEqual(["gateway", "api-edge"]);
    expect(refused).toEqual(["series gateway → web counted by web-edge"]);
  });

  it("a binding without isomesh props sends nothing", () => {
    expect(
      admit({ who: "?", edges: new Set() }, batch({ series: [series("gateway", "a", "b")] })).admitted,
    ).toMatchObject({
      reports: [],
      series: [],
    });
  });
});

describe("nudge answers are held to the Worker the control plane called", () => {
  it.each([
    [edgeBinding(GATEWAY), { edge: GATEWAY }],
    ["INLINE_API_V2", { service: "api", version: "v2" }],
    ["INLINE_WEB_V1", { service: "web", version: "v1" }],
    ["INLINE_NOPE_V1", undefined],
  ])("%s", (binding, caller) => {
    expect(holderCaller(topology, binding, edgeBinding(GATEWAY))).toEqual(caller);
  });
});

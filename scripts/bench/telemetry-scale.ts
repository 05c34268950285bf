import { hashUnit } from "../../shared/routing/split.ts";
import { flushIntervalFor, Pacer, SINGLETON_TARGET_PER_S } from "../../shared/telemetry/pacing.ts";

// Telemetry at internet scale, simulated: every edge isolate of every location flushing to the
// control plane's Durable Objects, before and after telemetry collectors
// (workers/control/telemetry/collector.ts). Deterministic (seeded), like propagationWorldwide.
// `npm run bench` writes it into BENCHMARKS.md; alone (prints the section):
//   node --import tsx scripts/bench/telemetry-scale.ts [--smoke]

/** The world: L locations × I isolates of every edge (S service edges and the gateway). */
export type TelemetryWorld = {
  locations: number;
  isolatesPerLocation: number;
  services: number;
  /** Requests per second one service-edge isolate serves, and one gateway isolate (spread over every service). */
  edgeRps: number;
  gatewayRps: number;
  /** Share of traces recorded as spans. */
  traceSampling: number;
  /** What one Durable Object serves per second before it answers "overloaded" (Cloudflare's soft limit). */
  objectLimitPerS: number;
  /** Collectors per reporting edge (the control worker's TELEMETRY_COLLECTORS). */
  collectorsPerEdge: number;
  seconds: number;
  seed: number;
};

/** Per kind of object: how many there are, the most calls one got in a second, how many went past the limit. */
export type ObjectLoad = { kind: string; objects: number; peakPerS: number; overLimit: number };

export type DesignOutcome = {
  design: string;
  loads: ObjectLoad[];
  /** Durable Object calls per second, all objects together (steady state). */
  callsPerS: number;
  /** Shares of isolate flushes refused, of requests never counted, of requests counted twice. */
  refusedFlushes: number;
  lostRequests: number;
  doubleCounted: number;
  /** Seconds an isolate waits between flushes (median over isolates at the end). */
  flushIntervalS: number;
};

// The flusher's rules (workers/dataplane/telemetry/flusher.ts): a refused batch is merged back and
// retried with backoff 1, 2, 4, 8 s; after 4 refusals in a row it is dropped.
const MAX_RETRIES = 4;
const backoffS = (failures: number) => Math.min(2 ** (failures - 1), 8);
// The collectors' rules are the real ones (shared/telemetry/pacing.ts), with the default status window.
const STATUS_WINDOW_S = 60;

function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function shuffle(xs: Int32Array, rand: () => number) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

/** Calls per object in the current second, against the limit. */
class Objects {
  private readonly calls: Int32Array;
  readonly peak: Int32Array;
  private readonly over: Uint8Array;
  constructor(
    readonly kind: string,
    n: number,
    private readonly limit: number,
  ) {
    this.calls = new Int32Array(n);
    this.peak = new Int32Array(n);
    this.over = new Uint8Array(n);
  }
  /** One call: served, or refused as overloaded. */
  call(i: number, counting: boolean): boolean {
    const n = ++this.calls[i];
    if (counting && n > this.peak[i]) this.peak[i] = n;
    if (n > this.limit) {
      if (counting) this.over[i] = 1;
      return false;
    }
    return true;
  }
  /** The calls of the second that ended (then a new second starts). */
  tick(): Int32Array {
    const last = this.calls.slice();
    this.calls.fill(0);
    return last;
  }
  load(): ObjectLoad {
    let peak = 0,
      over = 0,
      used = 0;
    for (let i = 0; i < this.peak.length; i++) {
      peak = Math.max(peak, this.peak[i]);
      over += this.over[i];
      if (this.peak[i] > 0) used++;
    }
    return { kind: this.kind, objects: used, peakPerS: peak, overLimit: over };
  }
}

/**
 * A batch's counts for one destination, with what of it some store already holds: a refused
 * batch is sent again whole, so a part that had landed is counted twice; a dropped batch loses
 * what never landed.
 */
class Parts {
  readonly total: Float64Array;
  readonly landed: Float64Array;
  lost = 0;
  twice = 0;
  served = 0;
  constructor(n: number) {
    this.total = new Float64Array(n);
    this.landed = new Float64Array(n);
  }
  add(i: number, requests: number) {
    this.total[i] += requests;
    this.served += requests;
  }
  /** The part reached a store: what it already had there is counted again. */
  land(i: number) {
    this.twice += this.landed[i];
    this.landed[i] = this.total[i];
  }
  /** The batch ended (accepted or dropped): what never landed is lost. */
  end(i: number) {
    this.lost += this.total[i] - this.landed[i];
    this.total[i] = 0;
    this.landed[i] = 0;
  }
}

/**
 * The isolates of the world, numbered: each service edge's first, then the gateway's. A batch has
 * one part per destination: a service edge's one, the gateway's one per service.
 */
function isolatesOf(w: TelemetryWorld) {
  const perEdge = w.locations * w.isolatesPerLocation;
  const edges = w.services + 1; // the gateway is edge number `services`
  const count = perEdge * edges;
  const gatewayBase = w.services * perEdge;
  const partOf = (i: number, d: number) => (i < gatewayBase ? i : gatewayBase + (i - gatewayBase) * w.services + d);
  return {
    perEdge,
    edges,
    count,
    gatewayBase,
    partOf,
    parts: () => new Parts(gatewayBase + perEdge * w.services),
    edgeOf: (i: number) => Math.floor(i / perEdge),
    /** Every isolate serves its second of traffic. */
    serve(parts: Parts) {
      for (let i = 0; i < gatewayBase; i++) parts.add(i, w.edgeRps);
      for (let i = gatewayBase; i < count; i++)
        for (let d = 0; d < w.services; d++) parts.add(partOf(i, d), w.gatewayRps / w.services);
    },
  };
}

/**
 * Before: each isolate's flush is one report that the control worker splits, in one Promise.all,
 * into the ConfigStore (the isolate's status), the Telemetry object of every destination in the
 * batch, and the "traces" object (spans); one refusal fails the report, so the flusher keeps the
 * whole batch and sends it again.
 */
export function simulateShardsByDestination(w: TelemetryWorld): DesignOutcome {
  const rand = rng(w.seed);
  const { count, edgeOf, gatewayBase, partOf, serve, ...world } = isolatesOf(w);
  const S = w.services;
  const configStore = new Objects("ConfigStore", 1, w.objectLimitPerS);
  const shards = new Objects("Telemetry (per destination)", S, w.objectLimitPerS);
  const traces = new Objects("Telemetry traces", 1, w.objectLimitPerS);
  const parts = world.parts();
  const spanChance = (rps: number) => 1 - (1 - w.traceSampling) ** rps;
  const nextAt = new Float64Array(count).map(() => rand()); // each isolate's phase
  const failures = new Uint8Array(count);
  const order = Int32Array.from({ length: count }, (_, i) => i);
  let flushes = 0,
    refused = 0,
    calls = 0;
  const steadyFrom = Math.floor(w.seconds / 3);
  for (let t = 0; t < w.seconds; t++) {
    const steady = t >= steadyFrom;
    serve(parts);
    shuffle(order, rand);
    for (const i of order) {
      if (nextAt[i] > t + 1) continue;
      const gateway = i >= gatewayBase;
      const dests = gateway ? S : 1;
      if (steady) flushes++;
      let ok = configStore.call(0, steady);
      calls++;
      for (let d = 0; d < dests; d++) {
        const dest = gateway ? d : edgeOf(i);
        calls++;
        if (shards.call(dest, steady)) parts.land(partOf(i, d));
        else ok = false;
      }
      if (rand() < spanChance(gateway ? w.gatewayRps : w.edgeRps)) {
        calls++;
        ok = traces.call(0, steady) && ok;
      }
      if (ok) {
        failures[i] = 0;
        for (let d = 0; d < dests; d++) parts.end(partOf(i, d));
        nextAt[i] += 1;
        continue;
      }
      if (steady) refused++;
      if (++failures[i] > MAX_RETRIES) {
        failures[i] = 0;
        for (let d = 0; d < dests; d++) parts.end(partOf(i, d));
        nextAt[i] += 1;
      } else nextAt[i] += Math.max(1, backoffS(failures[i]));
    }
    configStore.tick();
    shards.tick();
    traces.tick();
  }
  // What is still buffered at the end is neither lost nor counted yet.
  const pending = sumPending(parts);
  return {
    design: "before: one Telemetry object per destination, status and spans per flush",
    loads: [configStore.load(), shards.load(), traces.load()],
    callsPerS: calls / w.seconds,
    refusedFlushes: refused / flushes,
    lostRequests: parts.lost / (parts.served - pending),
    doubleCounted: parts.twice / (parts.served - pending),
    flushIntervalS: 1,
  };
}

function sumPending(parts: Parts): number {
  let n = 0;
  for (let i = 0; i < parts.total.length; i++) n += parts.total[i] - parts.landed[i];
  return n;
}

/**
 * After: each isolate's flush is one call to its collector (its edge's, picked by a hash of the
 * isolate), accepted or refused whole. A collector forwards at most once a second, per
 * destination, to the destination's Telemetry object (a part that object refuses stays for the
 * next forward); status and spans go to the two singletons at the pace they set
 * (max(1 s, live collectors / 250 per s)); a collector asks its isolates to flush less often past
 * 500 flushes a second.
 */
export function simulateCollectors(w: TelemetryWorld): DesignOutcome {
  const rand = rng(w.seed);
  const { edges, count, edgeOf, gatewayBase, partOf, serve, ...world } = isolatesOf(w);
  const S = w.services;
  const K = w.collectorsPerEdge;
  // As objects.ts picks a collector: a hash of the isolate's id (random hex, as edges make them).
  const idOf = () => Math.floor(rand() * 2 ** 48).toString(16);
  const collectorOf = (i: number) => edgeOf(i) * K + Math.floor(hashUnit(idOf()) * K);
  const collectors = new Objects("collectors", edges * K, w.objectLimitPerS);
  const roots = new Objects("Telemetry (per destination)", S, w.objectLimitPerS);
  const configStore = new Objects("ConfigStore", 1, w.objectLimitPerS);
  const traces = new Objects("Telemetry traces", 1, w.objectLimitPerS);
  // Counts live in the isolate until its collector accepts the batch, then in the collector until
  // the destination's object accepts the forward: nothing is sent twice, a refusal only delays.
  const isolateParts = world.parts();
  const held = new Float64Array(edges * K * S); // per collector, per destination
  const col = Int32Array.from({ length: count }, (_, i) => collectorOf(i));
  const nextAt = new Float64Array(count).map(() => rand());
  const failures = new Uint8Array(count);
  // Each collector's answer paces its isolates: past 500 of them, they flush less often.
  const reporting = new Int32Array(edges * K);
  for (const c of col) reporting[c]++;
  const interval = Float64Array.from(reporting, (n) => flushIntervalFor(n) / 1000);
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const singletonPhase = new Float64Array(edges * K).map(() => rand());
  const lastSeen = new Float64Array(edges * K).fill(-Infinity);
  let flushes = 0,
    refused = 0,
    calls = 0,
    landedInStores = 0,
    lostInIsolates = 0;
  const steadyFrom = Math.floor(w.seconds / 3);
  for (let t = 0; t < w.seconds; t++) {
    const steady = t >= steadyFrom;
    serve(isolateParts);
    shuffle(order, rand);
    for (const i of order) {
      if (nextAt[i] > t + 1) continue;
      const gateway = i >= gatewayBase;
      const dests = gateway ? S : 1;
      if (steady) flushes++;
      calls++;
      const c = col[i];
      if (collectors.call(c, steady)) {
        failures[i] = 0;
        for (let d = 0; d < dests; d++) {
          const p = partOf(i, d);
          held[c * S + (gateway ? d : edgeOf(i))] += isolateParts.total[p];
          isolateParts.total[p] = 0;
        }
        // The recorder spreads a paced interval ±50% (workers/dataplane/telemetry/recorder.ts).
        nextAt[i] += interval[c] > 1 ? interval[c] * (0.5 + rand()) : 1;
        continue;
      }
      if (steady) refused++;
      if (++failures[i] > MAX_RETRIES) {
        failures[i] = 0;
        for (let d = 0; d < dests; d++) {
          const p = partOf(i, d);
          lostInIsolates += isolateParts.total[p];
          isolateParts.total[p] = 0;
        }
        nextAt[i] += 1;
      } else nextAt[i] += Math.max(interval[c], backoffS(failures[i]));
    }
    const arrivals = collectors.tick();
    // Forwards: every collector holding counts for a destination sends them once this second.
    let live = 0;
    for (let c = 0; c < edges * K; c++) {
      if (arrivals[c] > 0) lastSeen[c] = t;
      if (t - lastSeen[c] < STATUS_WINDOW_S) live++;
      for (let d = 0; d < S; d++) {
        const n = held[c * S + d];
        if (n <= 0) continue;
        calls++;
        if (roots.call(d, steady)) {
          landedInStores += n;
          held[c * S + d] = 0;
        }
      }
    }
    // The singletons: each live collector's status and spans, at the pace they set.
    const paceS = pace(live);
    for (let c = 0; c < edges * K; c++) {
      if (t - lastSeen[c] >= STATUS_WINDOW_S) continue;
      const due = (t + singletonPhase[c] * paceS) % paceS < 1;
      if (!due) continue;
      calls += 2;
      configStore.call(0, steady);
      traces.call(0, steady);
    }
    roots.tick();
    configStore.tick();
    traces.tick();
  }
  let pendingIsolates = 0,
    pendingCollectors = 0;
  for (const n of isolateParts.total) pendingIsolates += n;
  for (const n of held) pendingCollectors += n;
  const served = isolateParts.served;
  const settled = served - pendingIsolates - pendingCollectors;
  const intervals = [...col].map((c) => interval[c]).sort((a, b) => a - b);
  return {
    design: `after: ${K} collectors per edge, forwarding once a second`,
    loads: [collectors.load(), roots.load(), configStore.load(), traces.load()],
    callsPerS: calls / w.seconds,
    refusedFlushes: refused / flushes,
    lostRequests: lostInIsolates / settled,
    doubleCounted: Math.max(0, landedInStores + lostInIsolates - settled) / settled,
    flushIntervalS: intervals[Math.floor(intervals.length / 2)],
  };
}

/** The pace a singleton gives each of `live` collectors (s), from the real Pacer. */
function pace(live: number): number {
  const p = new Pacer(STATUS_WINDOW_S * 1000);
  let ms = 0;
  for (let i = 0; i < live; i++) ms = p.heard(`c${i}`, 0);
  return ms / 1000;
}

/** The options weighed, from the same world by the same rules, as steady-state rates (no simulation needed). */
export function alternatives(w: TelemetryWorld) {
  const perEdge = w.locations * w.isolatesPerLocation;
  const isolates = perEdge * (w.services + 1);
  const perDestination = 2 * perEdge; // its own edge's isolates and the gateway's
  const limit = w.objectLimitPerS;
  const K = w.collectorsPerEdge;
  const collectors = (w.services + 1) * Math.min(K, perEdge);
  return [
    {
      option: "one object per destination (before)",
      busiest: `ConfigStore ${isolates}/s, each destination ${perDestination}/s`,
      exact: "no: past the limit reports fail whole and are re-sent",
      delay: "1 s",
    },
    {
      option: "more shards (destination × 16 by isolate hash)",
      busiest: `ConfigStore ${isolates}/s (status still per flush), each shard ${Math.ceil(perDestination / 16)}/s; /metrics reads ${16 * w.services} objects`,
      exact: "yes, if status moves elsewhere",
      delay: "1 s",
    },
    {
      option: "adaptive flush intervals alone",
      busiest: `≤ ${limit}/s, by flushing every ${Math.ceil(perDestination / (limit / 2))} s (destinations) and every ${Math.ceil(isolates / (limit / 2))} s (the ConfigStore's status${isolates / (limit / 2) > STATUS_WINDOW_S ? `, past its ${STATUS_WINDOW_S} s window` : ""})`,
      exact: "yes",
      delay: `${Math.ceil(perDestination / (limit / 2))} s; an evicted isolate loses that much`,
    },
    {
      option: "sampling reporters (1 in N, scaled by N)",
      busiest: `≤ ${limit}/s with N = ${Math.ceil(isolates / (limit / 2))} for status`,
      exact: "no: every count becomes an estimate",
      delay: "1 s",
    },
    {
      option: "per-location pre-aggregation (object per location and destination)",
      busiest: `each destination ${w.locations}/s, ${w.locations * (w.services + 1)} aggregators; needs the location of a binding call, which an RPC does not carry`,
      exact: "yes",
      delay: "2 s",
    },
    {
      option: "Analytics Engine written from the edges",
      busiest: "no object; AE samples at high volume and is queried by SQL with an account token",
      exact: "no (sampled); no exact /metrics or rollout analysis",
      delay: "about a minute",
    },
    {
      option: `collectors (${K} per edge; chosen)`,
      busiest: `a collector ≈ ${Math.ceil(perEdge / K)}/s on average, each destination ≤ ${2 * K}/s, the ConfigStore about ${SINGLETON_TARGET_PER_S}/s (${collectors} collectors, each reporting status every ${Math.max(1, Math.ceil(collectors / SINGLETON_TARGET_PER_S))} s)`,
      exact: "yes: a batch is accepted or refused whole, forwards per destination",
      delay: "≤ 2 s",
    },
  ];
}

export function telemetryWorldwide(w: TelemetryWorld) {
  return {
    world: w,
    before: simulateShardsByDestination(w),
    after: simulateCollectors(w),
    // Too few collectors for the load: the isolates' pace keeps every collector near its target.
    fewCollectors: simulateCollectors({ ...w, collectorsPerEdge: Math.max(1, w.collectorsPerEdge / 8) }),
    options: alternatives(w),
  };
}

/** The world BENCHMARKS.md reports (the issue's: 300 locations × 20 isolates × 100 services). */
export const INTERNET: TelemetryWorld = {
  locations: 300,
  isolatesPerLocation: 20,
  services: 100,
  edgeRps: 50,
  gatewayRps: 200,
  traceSampling: 0.01,
  objectLimitPerS: 1000,
  collectorsPerEdge: 32,
  seconds: 30,
  seed: 42,
};
/** A small world for `npm run bench -- --smoke`: still past one object's limit before, and under it after. */
export const SMOKE_WORLD: TelemetryWorld = {
  ...INTERNET,
  locations: 30,
  isolatesPerLocation: 5,
  services: 20,
  seconds: 12,
};

type Outcome = ReturnType<typeof telemetryWorldwide>;
const pct = (x: number) => `${(x * 100).toFixed(x && x < 0.001 ? 3 : 1)}%`;
const load = (d: DesignOutcome, kind: string) => {
  const l = d.loads.find((x) => x.kind === kind);
  return l
    ? `${l.peakPerS.toLocaleString("en-US")}/s${l.overLimit ? ` (${l.overLimit} of ${l.objects} over)` : ""}`
    : "–";
};

/** The section of BENCHMARKS.md. */
export function telemetryScaleMarkdown(r: Outcome, command: string): string {
  const w = r.world;
  const isolates = w.locations * w.isolatesPerLocation * (w.services + 1);
  const designs = [r.before, r.after, r.fewCollectors];
  const row = (name: string, f: (d: DesignOutcome) => string) => `| ${name} | ${designs.map(f).join(" | ")} |`;
  return `Simulated by \`${command}\` (\`telemetryWorldwide\` in scripts/bench/telemetry-scale.ts, deterministic): ${w.locations} locations × ${w.isolatesPerLocation} isolates of
each of ${w.services + 1} edges (${w.services} services and the gateway), ${isolates.toLocaleString("en-US")} isolates flushing about once a second; a service-edge isolate
serves ${w.edgeRps} requests/s, a gateway isolate ${w.gatewayRps} spread over every service; traces sampled at ${w.traceSampling * 100}%. A Durable Object serves
${w.objectLimitPerS.toLocaleString("en-US")} calls a second and answers "overloaded" past that (Cloudflare's soft limit); the flusher's own rules apply (a refused batch merged
back and retried after 1, 2, 4, 8 s, dropped after the 4th refusal). ${w.seconds} s simulated, the first third left out as warm-up.

| | ${designs.map((d) => d.design).join(" | ")} |
| --- | --- | --- | --- |
${row("busiest ConfigStore", (d) => load(d, "ConfigStore"))}
${row("busiest destination's Telemetry object", (d) => load(d, "Telemetry (per destination)"))}
${row('busiest "traces" object', (d) => load(d, "Telemetry traces"))}
${row("busiest collector", (d) => load(d, "collectors"))}
${row("isolate flushes refused", (d) => pct(d.refusedFlushes))}
${row("requests never counted", (d) => pct(d.lostRequests))}
${row("requests counted twice", (d) => pct(d.doubleCounted))}
${row("an isolate flushes every", (d) => `${d.flushIntervalS} s`)}
${row("Durable Object calls/s, all together", (d) => Math.round(d.callsPerS).toLocaleString("en-US"))}

**Before**, every flush was one report that the control worker split in one \`Promise.all\` into the ConfigStore (the isolate's status), the
Telemetry object of each destination in the batch and the "traces" object. The ConfigStore saturates first (every isolate of every edge
reports to it every second: ${r.before.loads[0].peakPerS.toLocaleString("en-US")} calls/s), then every destination's object (its own edge's isolates and the gateway's) and the traces
object. Past the limit almost every report fails somewhere; the flusher keeps the whole batch and sends it again, so the parts that had
landed are counted again while the rest is dropped after four tries: most requests are never counted and some are counted twice.

**After** (\`workers/control/telemetry/collector.ts\`), an isolate's batch goes whole to one of its edge's collectors, picked by a hash of
the isolate's id; the collector merges what its isolates send and forwards at most once a second, each store's share separately (a store
that refuses keeps its share waiting, never doubled). Status goes to the ConfigStore and spans to the traces object at the pace each sets
(every collector heard from in a minute may call once every N / ${SINGLETON_TARGET_PER_S} s), and past 500 isolates a collector asks them to flush less often
(spread ±50%, so they do not flush together). With too few collectors for the load (the last column), isolates flush every few seconds and
every object stays under the limit. The number of calls hardly changes (one per isolate flush, as before): collectors spread them over
objects, they do not remove them.

Options weighed, from the same world:

| option | busiest object | counts exact | metrics delay |
| --- | --- | --- | --- |
${r.options.map((o) => `| ${o.option} | ${o.busiest} | ${o.exact} | ${o.delay} |`).join("\n")}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const smoke = process.argv.includes("--smoke");
  const r = telemetryWorldwide(smoke ? SMOKE_WORLD : INTERNET);
  console.log(
    telemetryScaleMarkdown(r, `node --import tsx scripts/bench/telemetry-scale.ts${smoke ? " --smoke" : ""}`),
  );
}

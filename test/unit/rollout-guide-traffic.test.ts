import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { MetricSeries } from "../../shared/control-api.ts";
import { bucketIndex, emptyBuckets } from "../../shared/histogram.ts";
import { RolloutController } from "../../workers/control/rollout/controller.ts";
import { canaryMetricsOf } from "../../workers/control/rollout/metrics.ts";
import { MetricStore } from "../../workers/control/telemetry/metric-store.ts";
import { TELEMETRY_SCHEMA } from "../../workers/control/telemetry/schema.ts";
import { docs, fakeClock, testConfig, topologyOf } from "../helpers/config-store.ts";
import { testStorage } from "../helpers/sql-storage.ts";

// docs/operator.md's canary at the guide's own traffic: its request loop (`curl …; sleep 0.05`)
// makes about 11 page views a second, each one call to reviews. The controller, the config, the
// Telemetry object's windows and the analysis are the real ones; the clock is simulated, the
// alarm fired when it is due (as workerd would), and the edge's flushes come once a second.

const GUIDE = readFileSync("examples/bookinfo/tasks/canary-v3.yaml", "utf8");
const RPS = 11;

/** A small seeded PRNG (mulberry32): the weighted picks and the canary's failures, reproducibly. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Run = { phase: string; message: string; seconds: number; canaryRequests: number; canaryErrors: number };

/** Applies the guide's Rollout (with `canary`), drives reviews at RPS until it ends, and says how and when. */
async function drive(canary: "v3" | "v4", seed: number): Promise<Run> {
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12, 0, 3, 250));
  const random = rng(seed);
  let alarm: number | null = null;
  let arm = async () => {};
  const t = await testConfig(topologyOf({ reviews: ["v1", "v2", "v3", "v4"] }), { clock, afterWrite: () => arm() });
  const telemetry = await testStorage();
  telemetry.sql.exec(TELEMETRY_SCHEMA);
  const store = new MetricStore(telemetry.sql, clock.now);
  const controller = new RolloutController({
    config: t.config,
    metrics: async (service, version, since) => canaryMetricsOf(store.query(since), service, version, since),
    alarm: { set: async (at) => void (alarm = at), clear: async () => void (alarm = null) },
    now: clock.now,
  });
  arm = () => controller.arm();
  const applied = clock.now();
  await t.config.apply(docs(GUIDE.replace("canary: v3", `canary: ${canary}`)), { by: "guide" });
  const status = () =>
    (t.config.list("Rollout", "reviews-v3")[0] as unknown as { status: { phase: string; message: string } }).status;

  let canaryRequests = 0;
  let canaryErrors = 0;
  let nextFlush = applied + 1000;
  let windowStart = applied;
  const batch = new Map<string, MetricSeries>();
  while (status().phase === "Progressing") {
    if (clock.now() - applied > 10 * 60_000) throw new Error(`still progressing after 10 min: ${status().message}`);
    // What the edge runs now: the weights in its snapshot.
    const split: { version: string; weight: number }[] = JSON.parse(
      t.config.snapshotBody("reviews-edge")!,
    ).defaultBackends;
    const at = alarm !== null && alarm < nextFlush ? alarm : nextFlush;
    // The requests made until then (RPS, evenly spaced), each to a version picked by weight.
    const n = Math.round(((at - clock.now()) / 1000) * RPS);
    for (let i = 0; i < n; i++) {
      let r = random() * 100;
      const version = split.find((b) => (r -= b.weight) < 0)?.version ?? "v1";
      const failed = version === "v4" && random() < 0.5;
      if (version === canary) (canaryRequests++, failed && canaryErrors++);
      const code = failed ? 500 : 200;
      const key = `${version}|${code}`;
      const s = batch.get(key) ?? {
        ...{ reporter: "reviews-edge", source: "productpage", destination: "reviews", version, route: "default" },
        ...{ code, count: 0, sumMs: 0, buckets: emptyBuckets(), retries: 0, flags: {} },
      };
      s.count++;
      s.sumMs += 3;
      s.buckets[bucketIndex(3)]++;
      batch.set(key, s);
    }
    clock.set(at);
    if (at === nextFlush) {
      store.ingest([...batch.values()], windowStart); // an edge's flush, about once a second
      batch.clear();
      windowStart = at;
      nextFlush += 1000;
    } else await controller.runDue(); // the Durable Object's alarm, fired when due
  }
  return { ...status(), seconds: (clock.now() - applied) / 1000, canaryRequests, canaryErrors };
}

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

describe("docs/operator.md's Rollout at the guide's own traffic (~11 page views/s)", () => {
  it("promotes a healthy v3 in 50-60 s: step 1 (10%, ~1 request/s) waits one more interval for its 20 requests, the others take one each", async () => {
    for (const seed of SEEDS) {
      const run = await drive("v3", seed);
      expect(run, `seed ${seed}`).toMatchObject({ phase: "Promoted", message: "promoted v3" });
      expect(run.seconds, `seed ${seed}`).toBeGreaterThanOrEqual(50);
      expect(run.seconds, `seed ${seed}`).toBeLessThanOrEqual(60);
    }
  }, 60_000); // simulated time: seconds of CPU on a loaded machine, no waiting

  it("rolls back a v4 that fails half its requests at the first analysis, 10 s in, before its 20 requests", async () => {
    for (const seed of SEEDS) {
      const run = await drive("v4", seed);
      expect(run, `seed ${seed}`).toMatchObject({
        phase: "RolledBack",
        message: expect.stringMatching(/^rolled back: success rate \d+\.\d% < 99%/),
      });
      expect(run.seconds, `seed ${seed}`).toBe(10);
      expect(run.canaryRequests, `seed ${seed}`).toBeLessThan(20);
    }
  }, 60_000);
});

import { beforeEach, describe, expect, it } from "vitest";
import type { CanaryMetrics } from "../../shared/rollout/decide.ts";
import { RolloutController } from "../../workers/control/rollout/controller.ts";
import { docs, fakeClock, testConfig, type TestConfig, topologyOf } from "../helpers/config-store.ts";

// The rollout controller driven in process: a fake clock instead of waiting for intervals, the
// alarm a recorded value, the canary's metrics whatever the test says. The config underneath is
// the real one (SQL in sql.js), so versions, history and snapshots are what the DO would write.

const rollout = (steps = "[20, 50, 100]") =>
  docs(`apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: web-canary }
spec:
  targetRef: { kind: Service, name: web }
  stable: v1
  canary: v2
  steps: ${steps}
  interval: 30s
  analysis: { minRequests: 10, successRate: 99 }
`);

const healthy: CanaryMetrics = { requests: 100, failures: 0, successRate: 1, p99: 20 };
const INTERVAL = 30_000;

let t: TestConfig;
let controller: RolloutController;
let alarm: number | null;
let metrics: (service: string, canary: string, since: number) => Promise<CanaryMetrics>;

beforeEach(async () => {
  const clock = fakeClock();
  alarm = null;
  metrics = async () => healthy;
  let arm = async () => {};
  t = await testConfig(topologyOf({ web: ["v1", "v2"] }), { clock, afterWrite: () => arm() });
  controller = new RolloutController({
    config: t.config,
    metrics: (s, c, since) => metrics(s, c, since),
    alarm: { set: async (at) => void (alarm = at), clear: async () => void (alarm = null) },
    now: clock.now,
  });
  arm = () => controller.arm();
});

const status = () =>
  t.config.list("Rollout", "web-canary")[0] as unknown as {
    status: { phase: string; step: number; weight: number; message: string; stepStartedAt: number };
  };
const weights = () =>
  JSON.parse(t.config.snapshotBody("web-edge")!).defaultBackends.map(
    (b: { version: string; weight: number }) => `${b.version}:${b.weight}`,
  );
/** Moves the clock to when the alarm was set for, and fires it (what workerd does at that time). */
async function fireAlarm() {
  expect(alarm).not.toBeNull();
  t.clock.set(alarm!);
  await controller.runDue();
}

describe("rollout controller", () => {
  it("starts at the first step and arms the alarm for the end of its interval", async () => {
    const start = t.clock.now();
    expect(await t.config.apply(rollout(), { by: "alice" })).toMatchObject({ ok: true, version: 1 });
    expect(status().status).toMatchObject({ phase: "Progressing", step: 1, weight: 20 });
    expect(weights()).toEqual(["v1:80", "v2:20"]);
    expect(alarm).toBe(start + INTERVAL);
  });

  it("does nothing before a step is due (an early or repeated alarm is harmless)", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    t.clock.advance(INTERVAL - 1);
    await controller.runDue();
    expect(status().status).toMatchObject({ step: 1 });
    expect(t.config.version()).toBe(1);
  });

  it("takes a step as a version attributed to the rollout, and promotes at 100% without one", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    await fireAlarm();
    expect(status().status).toMatchObject({ phase: "Progressing", step: 2, weight: 50 });
    expect(weights()).toEqual(["v1:50", "v2:50"]);
    expect(t.config.history(1)[0]).toMatchObject({
      version: 2,
      by: "rollout/web-canary",
      note: "Progressing 50%: step 2/3: 50% to v2",
      changes: [{ kind: "Rollout", name: "web-canary", op: "weights", fields: ["status.weight"] }],
    });
    expect(t.nudged.at(-1)).toEqual(["web-edge"]);
    await fireAlarm();
    expect(status().status).toMatchObject({ phase: "Progressing", step: 3, weight: 100 });
    expect(t.config.version()).toBe(3);
    await fireAlarm();
    expect(status().status).toMatchObject({ phase: "Promoted", weight: 100 });
    expect(t.config.version()).toBe(3); // 100% before and after: nothing an edge runs changed
    expect(alarm).toBeNull();
  });

  it("shows a weight change in full in its history entry: the Rollout's status before and after", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    await fireAlarm();
    const [r] = t.config.historyDetail(2)!.resources;
    expect(r).toMatchObject({
      kind: "Rollout",
      name: "web-canary",
      before: { spec: { canary: "v2" }, status: { weight: 20 } },
      after: { status: { weight: 50 } },
    });
  });

  it("waits for traffic without a version, history entry or If-Match race", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    const started = status().status.stepStartedAt;
    metrics = async () => ({ requests: 3, failures: 0, successRate: 1, p99: 10 });
    for (let i = 0; i < 5; i++) await fireAlarm();
    expect(status().status).toMatchObject({
      phase: "Progressing",
      step: 1,
      stepStartedAt: started, // the sample keeps growing from the step's start
      inconclusive: 5,
      message: "waiting: 3 of 10 canary requests since step 1 began (inconclusive 5 of 5)",
    });
    expect(t.config.version()).toBe(1);
    expect(t.config.history()).toHaveLength(1);
    expect(
      await t.config.apply(
        docs(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec: { targetRefs: [{ kind: Service, name: web }], concurrencyLimit: 5 }
`),
        { by: "alice", ifMatch: 1 },
      ),
    ).toMatchObject({ ok: true, version: 2 });
    expect(alarm).toBe(t.clock.now() + INTERVAL);
    // A sixth interval without its minRequests: the step has waited all it may (inconclusiveLimit 5).
    await fireAlarm();
    expect(status().status).toMatchObject({
      phase: "RolledBack",
      weight: 0,
      message: "rolled back: 3 of 10 canary requests after 6 intervals (inconclusiveLimit 5)",
    });
    expect(t.config.version()).toBe(3);
  });

  it("asks every analysis of a waiting step for the canary's requests since the step began", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    const started = status().status.stepStartedAt;
    const asked: number[] = [];
    metrics = async (_s, _c, since) => (asked.push(since), { requests: 3, failures: 0, successRate: 1, p99: 10 });
    await fireAlarm();
    await fireAlarm();
    expect(asked).toEqual([started, started]);
    expect(alarm).toBe(started + 3 * INTERVAL);
  });

  it("rolls a failing canary back to 0% as a version", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    metrics = async () => ({ requests: 100, failures: 50, successRate: 0.5, p99: 10 });
    await fireAlarm();
    expect(status().status).toMatchObject({
      phase: "RolledBack",
      weight: 0,
      message: "rolled back: success rate 50.0% < 99%",
    });
    expect(weights()).toEqual(["v1:100", "v2:0"]);
    expect(t.config.version()).toBe(2);
  });

  it("asks for the canary's metrics since the step started", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    const asked: unknown[] = [];
    metrics = async (...args) => (asked.push(args), healthy);
    const started = status().status.stepStartedAt;
    await fireAlarm();
    expect(asked).toEqual([["web", "v2", started]]);
  });

  it("pauses and resumes as status only, aborts as a version by the operator, and refuses to act on a finished rollout", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    expect(await controller.act("web-canary", "pause", "bob")).toMatchObject({
      ok: true,
      version: 1,
      changes: [],
      rolloutStatus: { phase: "Paused" },
    });
    expect(alarm).toBeNull();
    t.clock.advance(5 * INTERVAL);
    await controller.runDue();
    expect(status().status.phase).toBe("Paused");
    expect(await controller.act("web-canary", "resume", "bob")).toMatchObject({
      ok: true,
      version: 1,
      rolloutStatus: { phase: "Progressing", stepStartedAt: t.clock.now() },
    });
    expect(alarm).toBe(t.clock.now() + INTERVAL);
    expect(await controller.act("web-canary", "abort", "bob")).toMatchObject({
      ok: true,
      version: 2,
      republished: ["web-edge"],
      rolloutStatus: { phase: "RolledBack", weight: 0, message: "aborted by bob" },
    });
    expect(t.config.history(1)[0]).toMatchObject({ by: "bob" });
    expect(await controller.act("web-canary", "resume", "bob")).toMatchObject({
      ok: false,
      status: 409,
      errors: [{ message: "rollout already RolledBack" }],
    });
    expect(await controller.act("nope", "pause", "bob")).toMatchObject({ ok: false, status: 404 });
  });

  it("restarts from the first step when its spec changes, and keeps its progress when something else does", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    await fireAlarm();
    await t.config.apply(
      docs(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec: { targetRefs: [{ kind: Service, name: web }], concurrencyLimit: 5 }
`),
      { by: "alice" },
    );
    expect(status().status).toMatchObject({ step: 2, weight: 50 });
    await t.config.apply(rollout("[10, 100]"), { by: "alice" });
    expect(status().status).toMatchObject({ step: 1, weight: 10 });
  });
});

describe("rollout controller: races with operators", () => {
  it("an abort while an analysis reads metrics wins; the analysis, now moot, changes nothing", async () => {
    await t.config.apply(rollout(), { by: "alice" });
    let answer!: (m: CanaryMetrics) => void;
    metrics = () => new Promise((r) => (answer = r));
    t.clock.advance(INTERVAL);
    const analysis = controller.runDue();
    expect(await controller.act("web-canary", "abort", "bob")).toMatchObject({
      ok: true,
      rolloutStatus: { phase: "RolledBack" },
    });
    answer(healthy);
    await analysis;
    expect(status().status).toMatchObject({ phase: "RolledBack", weight: 0 });
  });

  it("an abort that arrives while a promotion is being committed is refused, not written over it", async () => {
    await t.config.apply(rollout("[50]"), { by: "alice" });
    t.clock.set(alarm!);
    const kv = t.kv.hold();
    const analysis = controller.runDue(); // healthy at the last step: promote to 100%…
    await kv.reached; // …its snapshots are being written to KV
    const abort = controller.act("web-canary", "abort", "bob");
    kv.release();
    await analysis;
    expect(await abort).toMatchObject({ ok: false, status: 409, errors: [{ message: "rollout already Promoted" }] });
    expect(status().status).toMatchObject({ phase: "Promoted", weight: 100 });
    expect(weights()).toEqual(["v1:0", "v2:100"]);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EdgeReport, TelemetryBatch } from "../../shared/control-api.ts";
import { type FlushClock, TelemetryFlusher } from "../../workers/dataplane/telemetry/flusher.ts";
import { TelemetryRecorder } from "../../workers/dataplane/telemetry/recorder.ts";

// The edge's flush schedule (workers/dataplane/telemetry/flusher.ts) under a fake clock: what an isolate
// recorded reaches the control plane within about a second, with or without more requests.

const report: EdgeReport = { edge: "web-edge", isolate: "i1", version: 1, hash: "h", state: "synced" };
const observation = (code = 200) => ({
  reporter: "web-edge",
  source: "gateway",
  destination: "web",
  version: "v1",
  route: "web",
  code,
  durationMs: 5,
  retries: 0,
  flags: [] as string[],
});

/** A request's context: its waitUntil promises run on (the runtime keeps the request alive for them). */
const ctx = () => ({ waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) });

/** Fake timers, with a way to make the next timer die with its request (it never fires). */
function clock() {
  let killNext = false;
  const c: FlushClock & { killNextTimer(): void } = {
    now: () => Date.now(),
    sleep: (ms) => (killNext ? ((killNext = false), new Promise(() => {})) : new Promise((r) => setTimeout(r, ms))),
    killNextTimer: () => (killNext = true),
  };
  return c;
}

let sent: TelemetryBatch[];
const counted = () => sent.flatMap((b) => b.series).reduce((n, s) => n + s.count, 0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
  sent = [];
});
afterEach(() => vi.useRealTimers());

function setup(send: (b: TelemetryBatch) => Promise<void> = async (b) => void sent.push(b)) {
  const recorder = new TelemetryRecorder();
  const c = clock();
  const flusher = new TelemetryFlusher(recorder, () => report, send, c);
  const record = (code = 200) => {
    recorder.observe(observation(code));
    flusher.flush(ctx() as unknown as ExecutionContext);
  };
  return { recorder, flusher, record, clock: c };
}

describe("telemetry flush schedule", () => {
  it("sends a due batch at once, and what is recorded before the next is due within the interval, with no more requests", async () => {
    const { record } = setup();
    await vi.advanceTimersByTimeAsync(1000);
    record();
    await vi.advanceTimersByTimeAsync(0);
    expect(counted()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    record();
    record();
    expect(counted()).toBe(1);
    await vi.advanceTimersByTimeAsync(800);
    expect(counted()).toBe(3);
    expect(sent).toHaveLength(2); // one timer for both
  });

  it("a timer that died with its request is replaced by the next record: nothing waits for traffic after that", async () => {
    const { record, clock: c } = setup();
    await vi.advanceTimersByTimeAsync(1000);
    record(); // sent at once
    await vi.advanceTimersByTimeAsync(100);
    c.killNextTimer();
    record(); // its timer never fires (the request holding it was torn down)
    await vi.advanceTimersByTimeAsync(4000);
    expect(counted()).toBe(1);
    record(); // sends both at once, as the interval has passed
    await vi.advanceTimersByTimeAsync(100);
    expect(counted()).toBe(3);
    record(); // not due yet: a new timer must carry it, though the dead one never cleared its mark
    await vi.advanceTimersByTimeAsync(1000);
    expect(counted()).toBe(4);
  });

  it("keeps a batch the control plane refused and sends it again from a timer, with no more requests", async () => {
    let refuse = 2;
    const { record } = setup(async (b) => {
      if (refuse-- > 0) throw new Error("control plane restarting");
      sent.push(b);
    });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await vi.advanceTimersByTimeAsync(1000);
    record();
    await vi.advanceTimersByTimeAsync(0);
    expect(counted()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(counted()).toBe(1); // once, not once per attempt
    expect(sent).toHaveLength(1);
  });

  it("stops retrying a batch the control plane keeps refusing (a malformed one must not poison every later flush)", async () => {
    const { record, recorder } = setup(async () => {
      throw new Error("invalid batch");
    });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await vi.advanceTimersByTimeAsync(1000);
    record();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(recorder.pending).toBe(false);
  });

  it("a nudge sends everything now and waits for it", async () => {
    const { recorder, flusher } = setup();
    recorder.observe(observation());
    await flusher.flushNow(ctx() as unknown as ExecutionContext);
    expect(counted()).toBe(1);
  });
});

describe("telemetry recorder", () => {
  it("counts a mirror's copy apart from the same series of real traffic", () => {
    const r = new TelemetryRecorder();
    r.observe(observation());
    r.observe({ ...observation(), mirror: true });
    r.observe({ ...observation(), mirror: true });
    const batch = r.take(report, true)!;
    expect(batch.series.map((s) => [s.count, s.mirror ?? false])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it("merges a batch taken back into what was recorded since, series by series", () => {
    const r = new TelemetryRecorder();
    r.observe(observation());
    r.span({
      traceId: "t",
      spanId: "s",
      service: "web",
      edge: "web-edge",
      name: "GET /",
      startMs: 1,
      durationMs: 1,
      status: 200,
      attributes: {},
    });
    const first = r.take(report, true)!;
    r.observe(observation());
    r.restore(first);
    const again = r.take(report, true)!;
    expect(again.series).toHaveLength(1);
    expect(again.series[0].count).toBe(2);
    expect(again.spans).toHaveLength(1);
    expect(again.windowStart).toBe(first.windowStart);
  });

  it("marks a span alone as worth sending", () => {
    const r = new TelemetryRecorder();
    r.take(report, true);
    expect(r.pending).toBe(false);
    r.span({
      traceId: "t",
      spanId: "s",
      service: "web",
      edge: "web-edge",
      name: "GET /",
      startMs: 1,
      durationMs: 1,
      status: 200,
      attributes: {},
    });
    expect(r.pending).toBe(true);
  });
});

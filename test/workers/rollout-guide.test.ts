import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bookinfoGateway, bookinfoManifest } from "../helpers/bookinfo.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// docs/operator.md's canary with real traffic at the guide's own rate: its loop
// (`curl …/productpage; sleep 0.05`) makes about 11 page views a second. Nothing here waits on a
// clock: the test watches the Rollout's status, analysis by analysis (each lasts an interval, 10 s,
// so a poll every 250 ms sees every one), and asserts how many analyses a step took.
// Timing to the second, over many runs, is test/unit/rollout-guide-traffic.test.ts.

// The guide's Rollout, with one change: its latencyP99 (500ms) is raised to 10s. Bookinfo's p99 on
// a test machine running other suites is the machine's load, not the canary's (it reached 605 ms);
// the latency check's decisions are tested in process (test/unit/rollout-decision.test.ts).
const GUIDE = readFileSync("examples/bookinfo/tasks/canary-v3.yaml", "utf8").replace(
  "latencyP99: 500ms",
  "latencyP99: 10s",
);
const RPS = 11;

let mesh: TestMesh;
beforeAll(async () => {
  // The guide's step 4: a v4 that fails half its requests, added to reviews.
  mesh = await startTestMesh(
    bookinfoManifest().replace(
      "      - { name: v3,",
      "      - { name: v4, echo: { failRate: 0.5 } }\n      - { name: v3,",
    ),
  );
  await mesh.apply(bookinfoGateway);
});
afterAll(() => mesh?.stop());

type Status = { phase: string; step: number; message: string };

/** Page views at RPS, open loop (a slow answer does not slow the next request), until stopped. */
function traffic() {
  const codes: number[] = [];
  const timer = setInterval(
    () =>
      void mesh.get("/productpage").then(
        (r) => codes.push(r.status),
        () => codes.push(-1),
      ),
    1000 / RPS,
  );
  return { codes, stop: () => clearInterval(timer) };
}

/** Every status the Rollout shows until it settles (Promoted or RolledBack); throws after `ms`. */
async function watch(ms: number): Promise<Status[]> {
  const seen: Status[] = [];
  await vi.waitFor(
    async () => {
      const s: Status = (await mesh.admin("/v1/rollouts/reviews-v3")).json().status;
      if (JSON.stringify(s) !== JSON.stringify(seen.at(-1))) seen.push(s);
      expect(s.phase).toMatch(/Promoted|RolledBack/);
    },
    { timeout: ms, interval: 250 },
  );
  return seen;
}

/** How many analyses found too few canary requests and waited (each one a new status: its message and sample change). */
const waits = (seen: Status[]) => seen.filter((s) => s.message.startsWith("waiting:")).length;

describe("the guide's Rollout with real traffic at ~11 page views/s", () => {
  it("rolls back a v4 that fails half its requests within two analyses", async () => {
    const load = traffic();
    try {
      await mesh.apply(GUIDE.replace("canary: v3", "canary: v4"));
      const seen = await watch(60_000);
      expect(seen.at(-1)).toMatchObject({
        phase: "RolledBack",
        step: 1,
        message: expect.stringMatching(/success rate/),
      });
      expect(waits(seen)).toBeLessThanOrEqual(1); // rolled back at the first or second analysis
    } finally {
      load.stop();
    }
    expect(load.codes.length).toBeGreaterThan(0);
  }, 90_000);

  it("promotes a healthy v3; only step 1 (10%) waits for its 20 requests", async () => {
    const load = traffic();
    try {
      await mesh.apply(GUIDE); // a new spec: the Rollout starts again from step 1
      const seen = await watch(150_000);
      expect(seen.at(-1)).toMatchObject({ phase: "Promoted", message: "promoted v3" });
      // 10% of ~11/s is ~1.1/s: 20 requests need two intervals; the later steps get them in one.
      expect(waits(seen.filter((s) => s.step === 1))).toBeLessThanOrEqual(2);
      expect(waits(seen.filter((s) => s.step > 1))).toBe(0);
    } finally {
      load.stop();
    }
    expect(load.codes.filter((c) => c !== 200)).toEqual([]);
  }, 180_000);
});

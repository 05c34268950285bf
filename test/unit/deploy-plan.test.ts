import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { boundScripts, type DeployStep, deployPlan, withoutBindingsTo } from "../../scripts/lib/deploy-plan.ts";
import { generate } from "../../scripts/lib/gen.ts";
import type { GeneratedWorker } from "../../scripts/lib/wrangler-config.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

afterAll(removeTempDirs);

// Cloudflare refuses a Worker that binds a Worker not yet on the account (code 10143). The plan
// must never upload a config naming a mesh worker that is not there yet, and must end with every
// worker in full.

/** Replays a plan on an empty account: what each upload binds must already exist. */
function replay(workers: GeneratedWorker[], plan: DeployStep[]) {
  const ours = new Set(workers.map((w) => w.config.name));
  const account = new Set<string>();
  const last = new Map<string, DeployStep>();
  for (const step of plan) {
    const config = step.without ? withoutBindingsTo(step.worker.config, step.without) : step.worker.config;
    const missing = boundScripts(config).filter((n) => ours.has(n) && !account.has(n));
    expect(missing, `${step.worker.config.name} uploaded before ${missing.join(", ")}`).toEqual([]);
    account.add(step.worker.config.name);
    last.set(step.worker.config.name, step);
  }
  expect([...last.keys()].sort()).toEqual([...ours].sort());
  for (const [name, step] of last) expect(step.without, `${name} ends in full`).toBeUndefined();
  return plan.filter((s) => s.without).map((s) => `${s.worker.name} without ${s.without!.join(", ")}`);
}

const bookinfo = (dataPlane?: "inline") =>
  generate(resolve("examples/bookinfo/mesh.yaml"), {
    beaconKeys: TEST_BEACON_KEYS,
    outDir: tempDir("isomesh-plan"),
    ...(dataPlane ? { dataPlane } : {}),
  }).workers;

describe("isomesh deploy's plan", () => {
  it("uploads Bookinfo so that no worker binds one not yet deployed; only the control plane goes first without its edges", () => {
    const workers = bookinfo();
    const plan = deployPlan(workers);
    const stubs = replay(workers, plan);
    expect(stubs).toHaveLength(1);
    expect(stubs[0]).toMatch(/^control without bookinfo-/);
    // productpage calls reviews and details: their edges (and the versions behind them) come first.
    const at = (name: string) => plan.findIndex((s) => s.worker.name === name && !s.without);
    expect(at("reviews-edge")).toBeLessThan(at("productpage-v1"));
    expect(at("ratings-v1")).toBeLessThan(at("ratings-edge"));
    expect(at("ratings-edge")).toBeLessThan(at("reviews-v2"));
  });

  it("does the same for the inline data plane (callers bind their callees' versions directly)", () => {
    const workers = bookinfo("inline");
    replay(workers, deployPlan(workers));
  });

  it("breaks a cycle of two services that call each other at one worker, deployed again in full", () => {
    const w = (name: string, role: GeneratedWorker["role"], binds: string[]): GeneratedWorker => ({
      role,
      name,
      config: { name: `m-${name}`, main: "x.js", services: binds.map((b) => ({ binding: b, service: `m-${b}` })) },
      build: { kind: "esbuild", entry: "x.js" },
      configPath: `/tmp/${name}/wrangler.json`,
    });
    const workers = [
      w("a-v1", "app", ["b-edge", "outside-the-mesh"]),
      w("b-v1", "app", ["a-edge"]),
      w("a-edge", "edge", ["a-v1"]),
      w("b-edge", "edge", ["b-v1"]),
      w("gateway", "gateway", ["a-edge"]),
    ];
    const plan = deployPlan(workers);
    expect(replay(workers, plan)).toEqual(["a-v1 without m-b-edge"]);
    expect(plan.map((s) => s.worker.name)).toEqual(["a-v1", "a-edge", "b-v1", "b-edge", "gateway", "a-v1"]);
  });
});

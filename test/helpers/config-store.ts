import { parse } from "yaml";
import type { Topology } from "../../shared/manifest/topology.ts";
import type { Document } from "../../shared/resources/parse.ts";
import { migrate } from "../../workers/control/config-store/migrations.ts";
import { type ConfigDeps, VersionedConfig } from "../../workers/control/config-store/versions.ts";
import { type TestStorage, testStorage } from "./sql-storage.ts";

/** A fake clock: `now()` for the code under test, `advance(ms)` for the test. */
export function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

/** A KV namespace in memory; `hold()` stops every put until released (to stop a commit mid-way). */
export function memoryKv() {
  const data = new Map<string, string>();
  let gate: { open: Promise<void>; reached: () => void } | undefined;
  return {
    data,
    put: async (key: string, value: string) => {
      if (gate) {
        gate.reached();
        await gate.open;
      }
      data.set(key, value);
    },
    /** Holds puts from now on: `reached` resolves when the first one waits, `release` lets them through. */
    hold() {
      let release!: () => void;
      let reached!: () => void;
      const open = new Promise<void>((r) => (release = r));
      const waiting = new Promise<void>((r) => (reached = r));
      gate = { open, reached };
      return {
        reached: waiting,
        release: () => {
          gate = undefined;
          release();
        },
      };
    },
  };
}

export type TestConfig = {
  config: VersionedConfig;
  storage: TestStorage;
  kv: ReturnType<typeof memoryKv>;
  clock: ReturnType<typeof fakeClock>;
  nudged: string[][];
};

/** The ConfigStore's versioned config in process: real SQL (sql.js), KV in memory, a fake clock. */
export async function testConfig(
  topology: Topology,
  opts: {
    storage?: TestStorage;
    kv?: ReturnType<typeof memoryKv>;
    clock?: ReturnType<typeof fakeClock>;
    afterWrite?: ConfigDeps["afterWrite"];
  } = {},
): Promise<TestConfig> {
  const storage = opts.storage ?? (await testStorage());
  const kv = opts.kv ?? memoryKv();
  const clock = opts.clock ?? fakeClock();
  const nudged: string[][] = [];
  migrate(storage.sql);
  const config = new VersionedConfig({
    sql: storage.sql,
    transaction: storage.transaction,
    kv,
    topology,
    nudge: (edges) => nudged.push(edges),
    now: clock.now,
    afterWrite: opts.afterWrite,
  });
  config.load();
  await config.reconcile();
  return { config, storage, kv, clock, nudged };
}

export const topologyOf = (services: Record<string, string[]>): Topology => ({
  mesh: "test",
  services: Object.entries(services).map(([name, versions]) => ({ name, versions, calls: [] })),
});

/** YAML documents as the admin API hands them to the store (already schema-checked there). */
export const docs = (yaml: string): Document[] => yaml.split(/^---$/m).map((d) => parse(d) as Document);

export const serviceRoute = (
  name: string,
  service: string,
  backends: string,
) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ kind: Service, name: ${service} }]
  rules: [{ backendRefs: ${backends} }]
`;

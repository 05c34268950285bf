import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import type { Miniflare } from "miniflare";
import { eventually } from "../helpers/eventually.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "zod";
import { en } from "zod/locales";
import { BOOTSTRAP_MODULE, bundleEdge, INLINE_MODULE } from "../../scripts/lib/bundle.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { SNAPSHOT_SCHEMA, Snapshot } from "../../shared/snapshot/schema.ts";
import { versionBinding } from "../../shared/names.ts";
import { ownedMiniflare } from "../../scripts/lib/scratch-dir.ts";

// The production edge bundle (the one `isomesh gen` builds and every edge uploads) validating
// snapshots in workerd with zod/mini alone: a snapshot the control plane compiles is served, and a
// broken one is rejected with the issues (paths and messages) the schema gives in the control plane.

config(en()); // as in the control plane, whose zod (the full build) loads English messages

const dir = mkdtempSync(join(tmpdir(), "isomesh-edge-bundle-"));
const CONTROL = `import { WorkerEntrypoint } from "cloudflare:workers";
export class MeshControl extends WorkerEntrypoint {
  beacon() { return { version: 0, shards: Array.from({ length: 64 }, () => "") }; }
  snapshot() { return null; }
  report() {}
  verifyDebugToken() { return false; }
}
export default { fetch() { return new Response("control"); } };`;

const compiled = compileSnapshot(
  { mesh: "m", services: [{ name: "web", versions: ["v1"], calls: [] }] },
  "web-edge",
  [],
  0,
);
const route = {
  route: "r",
  rule: 0,
  match: 0,
  path: { type: "PathPrefix", value: "/" },
  headers: [{ type: "Exact", name: "x-user", value: "a" }],
  queryParams: [],
  filters: [],
  backends: [{ service: "web", version: "v1", weight: 1 }],
  timeouts: {},
};
const withRoute = (patch: object) => ({ ...compiled, vhosts: [{ hostnames: [], routes: [{ ...route, ...patch }] }] });
const BROKEN: Record<string, object> = {
  "a regular expression without its compiled program": withRoute({
    path: { type: "RegularExpression", value: "/(a+)+$" },
  }),
  "a compiled program that jumps out of itself": {
    ...withRoute({ path: { type: "RegularExpression", value: "/a" } }),
    regexes: { "/a": { start: 0, code: [2, 9, 0], sets: [] } },
  },
  "an unknown field in a strict part": withRoute({
    headers: [{ type: "Exact", name: "x-user", value: "a", extra: true }],
  }),
  "an invalid header name": withRoute({ headers: [{ type: "Exact", name: "x user", value: "a" }] }),
  "a wrong type": { ...compiled, defaultBackends: [{ service: "web", version: "v1", weight: "1" }] },
  "another schema version": { ...compiled, schema: SNAPSHOT_SCHEMA + 1 },
};
const cases = Object.entries(BROKEN).map(([name, body], i) => ({
  name,
  body: JSON.stringify(body),
  worker: `broken${i}`,
}));

let mf: Miniflare;
const logs: string[] = [];
beforeAll(async () => {
  const { entry } = bundleEdge(join(dir, "edge"));
  const edge = (name: string, bootstrap: string) => ({
    name,
    modulesRoot: dirname(entry),
    modules: [
      { type: "ESModule" as const, path: entry },
      { type: "Text" as const, path: join(dirname(entry), BOOTSTRAP_MODULE), contents: bootstrap },
      { type: "Text" as const, path: join(dirname(entry), INLINE_MODULE), contents: "[]" },
    ],
    compatibilityDate: "2025-04-01",
    bindings: { EDGE_NAME: "web-edge", MESH_NAME: "m", ACCESS_LOG: "off" },
    kvNamespaces: { SNAPSHOTS: "snapshots" },
    serviceBindings: { CONTROL: { name: "control", entrypoint: "MeshControl" }, [versionBinding("v1")]: "app" },
  });
  mf = ownedMiniflare({
    cf: false,
    workers: [
      edge("valid", JSON.stringify(compiled)),
      ...cases.map((c) => edge(c.worker, c.body)),
      { name: "control", modules: true, script: CONTROL, compatibilityDate: "2025-04-01" },
      {
        name: "app",
        modules: true,
        script: `export default { fetch: () => new Response("app") };`,
        compatibilityDate: "2025-04-01",
      },
    ],
    // Whole lines only: a chunk of output may end in the middle of one (as it does on a loaded machine).
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) =>
      [stdout, stderr].forEach((s) => {
        let partial = "";
        s.on("data", (d: Buffer) => {
          const lines = (partial + d.toString()).split("\n");
          partial = lines.pop()!;
          logs.push(...lines);
        });
      }),
  });
  await mf.ready;
});
afterAll(async () => {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("serves from a bootstrap snapshot the control plane compiled", async () => {
  const res = await (await mf.getWorker("valid")).fetch("http://web.example/");
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("app");
});

describe("rejects a broken bootstrap as the control plane's schema does", () => {
  it.each(cases)("$name", async ({ worker, body }) => {
    const expected = Snapshot.safeParse(JSON.parse(body));
    expect(expected.success).toBe(false);
    const issues = expected.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    // Nothing else to serve (nothing is published): the request fails rather than run on a bad snapshot.
    await expect((await mf.getWorker(worker)).fetch("http://web.example/")).rejects.toThrow(/edge has no snapshot/);
    // workerd's output reaches this process on its own pipe, maybe after the fetch has failed.
    await eventually(
      () =>
        logs
          .map((l) => /^\{.*"snapshot rejected".*\}$/.test(l) && (JSON.parse(l) as { error: string }).error)
          .filter((e): e is string => !!e),
      (rejected) => rejected.includes(issues.slice(0, 500)),
      { what: `a "snapshot rejected" line with ${issues.slice(0, 80)}…` },
    );
  });
});

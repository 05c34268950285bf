import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BOOTSTRAP_MODULE, bundleEdge, INLINE_MODULE } from "../../scripts/lib/bundle.ts";
import { EDGE_BUNDLE_DIR, generate } from "../../scripts/lib/gen.ts";
import { bundleInline, inlineBundleInputs } from "../../scripts/lib/gen-inline.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

// The data plane every cold edge isolate parses, built by the code `isomesh gen` and `deploy` use.
const dir = mkdtempSync(join(tmpdir(), "isomesh-edge-bundle-"));
// The stated target is 150 KiB (BENCHMARKS.md, which the bench reports as met or not). CORS and
// session persistence (issue 29) took both bundles to about 153 KiB, past it, and external
// authorization (issue 29) to about 158 KiB: this guards against any further growth while the target
// is not met.
const BUDGET = 160 * 1024;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the production edge bundle", () => {
  const { entry, metafile } = bundleEdge(join(dir, "bundle"));
  const inputs = Object.keys(metafile!.inputs);

  it("stays within 160 KiB", () => expect(statSync(entry).size).toBeLessThanOrEqual(BUDGET));

  it.each([
    ["zod's full build", /node_modules\/zod\/(index\.js|v4\/classic\/)/],
    ["yaml", /node_modules\/yaml\//],
    ["the control plane", /^workers\/control\//],
    [
      "admin-side validation (resource kinds, parsing, did-you-mean)",
      /^shared\/resources\/(index|parse|issues|unknown-fields|stored|limits)\.ts$/,
    ],
    ["the manifest and its analysis", /^shared\/(manifest\/(parse|schema|mesh-config)|analyze\/)/],
    ["RE2 (re2js compiles regular expressions in the control plane)", /node_modules\/re2js\/|^shared\/regex\/compile/],
  ])("holds nothing of %s", (_what, pattern) => expect(inputs.filter((p) => pattern.test(p))).toEqual([]));

  it("validates with zod/mini", () => expect(inputs.some((p) => p.includes("node_modules/zod/v4/mini/"))).toBe(true));

  it("keeps its source map in a file beside it, not in what isolates parse", () => {
    const code = readFileSync(entry, "utf8");
    expect(code.trimEnd().split("\n").at(-1)).toBe("//# sourceMappingURL=index.js.map");
    expect(code).not.toContain("sourceMappingURL=data:");
    expect(existsSync(`${entry}.map`)).toBe(true);
  });
});

describe("the inline bundle (every inline app's Worker carries it)", () => {
  const folder = join(dir, "inline");
  const entry = bundleInline(folder);
  const inputs = inlineBundleInputs(folder);

  it("stays within 160 KiB", () => expect(statSync(entry).size).toBeLessThanOrEqual(BUDGET));

  it.each([
    ["zod's full build", /node_modules\/zod\/(index\.js|v4\/classic\/)/],
    ["yaml", /node_modules\/yaml\//],
    ["the control plane", /^workers\/control\//],
    ["the manifest and its analysis", /^shared\/(manifest\/(parse|schema|mesh-config)|analyze\/)/],
    ["RE2 (re2js compiles regular expressions in the control plane)", /node_modules\/re2js\/|^shared\/regex\/compile/],
  ])("holds nothing of %s", (_what, pattern) => expect(inputs.filter((p) => pattern.test(p))).toEqual([]));

  it("holds the Workers RPC halves", () =>
    expect(inputs).toEqual(expect.arrayContaining(["workers/inline/rpc.ts", "workers/dataplane/stages/forward.ts"])));
});

describe("every edge of a generated mesh", () => {
  const mesh = generate(resolve("examples/bookinfo/mesh.yaml"), {
    outDir: join(dir, "gen"),
    beaconKeys: TEST_BEACON_KEYS,
  });
  const edges = mesh.workers.filter((w) => w.role === "edge" || w.role === "gateway" || w.role === "egress");
  const bundle = join(dir, "gen", EDGE_BUNDLE_DIR, "index.js");

  it("uploads the one bundle as is, with its own bootstrap snapshot as a text module", () => {
    expect(edges.map((w) => w.name).sort()).toEqual([
      "details-edge",
      "gateway",
      "productpage-edge",
      "ratings-edge",
      "reviews-edge",
    ]);
    for (const w of edges) {
      const folder = dirname(w.configPath);
      expect(resolve(folder, w.config.main), w.name).toBe(bundle);
      expect(w.config).toMatchObject({
        no_bundle: true,
        base_dir: ".",
        upload_source_maps: true,
        rules: [{ type: "Text", globs: [BOOTSTRAP_MODULE, INLINE_MODULE], fallthrough: false }],
      });
      // Only the gateway runs inline services' outbound half; in an edge-mode mesh, none.
      expect(JSON.parse(readFileSync(join(folder, INLINE_MODULE), "utf8"))).toEqual([]);
      expect(w.config).not.toHaveProperty("define");
      const bootstrap = Snapshot.parse(JSON.parse(readFileSync(join(folder, BOOTSTRAP_MODULE), "utf8")));
      expect(bootstrap.edge).toBe(w.name);
    }
  });

  it("has no snapshot in the bundle: it is the same code for every edge", () => {
    const code = readFileSync(bundle, "utf8");
    for (const name of ["bookinfo", "reviews-edge", "productpage"]) expect(code).not.toContain(name);
  });
});

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, buildSync, version as esbuildVersion, type BuildOptions, type Metafile } from "esbuild";
import { isFresh, sha256, stamp } from "./build-cache.ts";
import { WORKER_ENTRY } from "./paths.ts";

/**
 * How wrangler bundles a Worker (ESM, workerd conditions, cloudflare:* and node:* external). The
 * source map is a file beside the bundle (`//# sourceMappingURL=`): Miniflare and wrangler's
 * `upload_source_maps` read it from there, and no isolate parses it as part of the script.
 */
const workerBuild = (entry: string, outfile: string, define: Record<string, string> | undefined): BuildOptions => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["browser", "module", "main"],
  external: ["cloudflare:*", "node:*"],
  define: define ?? {},
  sourcemap: "linked",
  logLevel: "warning",
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  loader: { ".html": "text", ".css": "text", ".svg": "text" },
  metafile: true,
});

/**
 * Bundles one of the mesh's own workers (or a bare entry file) with the config's `define`s.
 * Identical (entry, define) pairs are built once per start, and a build whose inputs are unchanged
 * since the last start is reused (by content), so a restart costs no bundling.
 */
export async function bundleWorker(
  entry: string,
  define: Record<string, string> | undefined,
  outDir: string,
  cache = new Map<string, Promise<string>>(),
): Promise<string> {
  const key = sha256(`${entry}\0${JSON.stringify(define ?? {})}\0${esbuildVersion}\0linked`).slice(0, 16);
  let out = cache.get(key);
  if (!out) {
    const outfile = join(outDir, key, "index.js");
    const stampPath = join(outDir, `${key}.stamp.json`);
    mkdirSync(join(outDir, key), { recursive: true });
    out = isFresh(stampPath, key)
      ? Promise.resolve(outfile)
      : build(workerBuild(entry, outfile, define)).then((result) => {
          stamp(
            stampPath,
            key,
            Object.keys(result.metafile!.inputs).map((p) => resolve(p)),
          );
          return outfile;
        });
    cache.set(key, out);
  }
  return out;
}

/** The module every edge imports its bootstrap snapshot from (a Text module beside the bundle). */
export const BOOTSTRAP_MODULE = "bootstrap.snapshot";

/** The inline services whose outbound half an edge runs (the gateway's; `[]` elsewhere): a Text module beside the bundle. */
export const INLINE_MODULE = "inline.snapshot";

/**
 * The edge's one bundle, shared by the gateway, every service edge and the egress edge, locally and
 * in production: built once per mesh into `dir`, each edge differing only in its bootstrap
 * snapshot (the `bootstrap.snapshot` text module its own config adds). Minified, names kept (as
 * wrangler's `minify` does), because every cold isolate in every location parses it; the source map
 * beside it keeps stack traces readable. Synchronous so that `isomesh gen` writes a deployable
 * folder in one call; unchanged inputs are not rebuilt.
 */
export function bundleEdge(dir: string): { entry: string; metafile?: Metafile } {
  const entry = join(dir, "index.js");
  const options: BuildOptions = {
    ...workerBuild(WORKER_ENTRY.edge, entry, undefined),
    external: ["cloudflare:*", "node:*", `./${BOOTSTRAP_MODULE}`, `./${INLINE_MODULE}`],
    minify: true,
    keepNames: true,
  };
  const key = sha256(`${JSON.stringify(options)}\0${esbuildVersion}`);
  const stampPath = join(dir, ".stamp.json");
  if (isFresh(stampPath, key)) return { entry };
  mkdirSync(dir, { recursive: true });
  const result = buildSync(options);
  stamp(
    stampPath,
    key,
    Object.keys(result.metafile!.inputs).map((p) => resolve(p)),
  );
  return { entry, metafile: result.metafile };
}

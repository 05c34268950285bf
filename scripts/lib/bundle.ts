import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, version as esbuildVersion } from "esbuild";
import { isFresh, sha256, stamp } from "./build-cache.ts";

/**
 * Bundles one of the mesh's own workers (or a bare entry file) the way wrangler does (ESM, workerd
 * conditions, cloudflare:* and node:* external), with the config's `define`s. Identical (entry,
 * define) pairs are built once per start, and a build whose inputs are unchanged since the last start
 * is reused (by content), so a restart costs no bundling.
 */
export async function bundleWorker(
  entry: string,
  define: Record<string, string> | undefined,
  outDir: string,
  cache = new Map<string, Promise<string>>(),
): Promise<string> {
  const key = sha256(`${entry}\0${JSON.stringify(define ?? {})}\0${esbuildVersion}`).slice(0, 16);
  let out = cache.get(key);
  if (!out) {
    const outfile = join(outDir, `${key}.mjs`);
    const stampPath = `${outfile}.stamp.json`;
    mkdirSync(outDir, { recursive: true });
    out = isFresh(stampPath, key)
      ? Promise.resolve(outfile)
      : build({
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
          sourcemap: "inline",
          logLevel: "warning",
          jsx: "automatic",
          jsxImportSource: "hono/jsx",
          loader: { ".html": "text", ".css": "text", ".svg": "text" },
          metafile: true,
        }).then((result) => {
          stamp(
            stampPath,
            key,
            Object.keys(result.metafile.inputs).map((p) => resolve(p)),
          );
          return outfile;
        });
    cache.set(key, out);
  }
  return out;
}

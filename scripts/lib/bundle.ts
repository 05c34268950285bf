import { mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { build } from "esbuild";

/**
 * Bundles a worker entry the way wrangler does (ESM, workerd conditions, cloudflare:* and node:*
 * external), with the config's `define`s. Identical (entry, define) pairs are built once.
 */
export async function bundleWorker(entry: string, define: Record<string, string> | undefined, outDir: string, cache = new Map<string, Promise<string>>()): Promise<string> {
  const key = createHash("sha256").update(entry).update(JSON.stringify(define ?? {})).digest("hex").slice(0, 16);
  let out = cache.get(key);
  if (!out) {
    const outfile = join(outDir, `${key}.mjs`);
    mkdirSync(outDir, { recursive: true });
    out = build({
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
    }).then(() => outfile);
    cache.set(key, out);
  }
  return out;
}

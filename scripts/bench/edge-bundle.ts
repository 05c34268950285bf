import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleEdge } from "../lib/bundle.ts";

/** What the edge bundle holds, by origin, from esbuild's metafile (bytes each contributes to the minified output). */
export type EdgeBundleComposition = { bytes: number; gzipBytes: number; parts: { part: string; bytes: number }[] };

const PARTS: [string, RegExp][] = [
  ["zod/mini (snapshot validation)", /node_modules\/zod\//],
  ["jose (JWT verification)", /node_modules\/jose\//],
  ["other packages", /node_modules\//],
  ["workers/dataplane (the core: exchange, stages, upstream, snapshot source, telemetry)", /^workers\/dataplane\//],
  ["workers/edge (the edge host)", /^workers\/edge\//],
  ["shared/regex (the linear-time matcher)", /^shared\/regex\//],
  ["shared/resources (the schemas snapshots embed)", /^shared\/resources\//],
  ["shared/ (decisions, snapshot schema, names)", /^shared\//],
];

/** Builds the edge exactly as `isomesh gen` does and attributes every byte of it. */
export function edgeBundleComposition(): EdgeBundleComposition {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-edge-composition-"));
  try {
    const { entry, metafile } = bundleEdge(dir);
    const output = Object.values(metafile!.outputs).find((o) => o.entryPoint)!;
    const parts = new Map<string, number>(PARTS.map(([part]) => [part, 0]));
    for (const [path, input] of Object.entries(output.inputs)) {
      const part = PARTS.find(([, pattern]) => pattern.test(path))?.[0] ?? "other";
      parts.set(part, (parts.get(part) ?? 0) + input.bytesInOutput);
    }
    const code = readFileSync(entry);
    return {
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      parts: [...parts].map(([part, bytes]) => ({ part, bytes })).filter((p) => p.bytes > 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

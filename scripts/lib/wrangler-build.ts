import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { isFresh, sha256, stamp } from "./build-cache.ts";
import { WRANGLER_BIN, WRANGLER_VERSION } from "./wrangler-api.ts";

const STAMP = ".isomesh-build.json";

/** At most one wrangler build per core at a time: a mesh of 30 apps does not start 30 processes at once. */
const slots = { free: Math.max(1, availableParallelism()), waiting: [] as (() => void)[] };
async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (slots.free === 0) await new Promise<void>((r) => slots.waiting.push(r));
  else slots.free--;
  try {
    return await fn();
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else slots.free++;
  }
}

/** Fields of a generated config that do not change its bundle (they are deploy metadata). */
const NOT_BUILT = ["$schema", "name", "vars", "services", "workers_dev", "preview_urls"];
const inflight = new Map<string, Promise<string>>();

/**
 * Builds a Workers project exactly as `wrangler deploy` would (its module rules, aliases, defines,
 * nodejs_compat polyfills, custom build, dependencies resolved from the app's folder) by running
 * wrangler's own `deploy --dry-run --outdir`, and caches the output by content: versions whose
 * configs differ only in deploy metadata (name, vars, bindings to services) share one build, and a
 * rebuild happens only when the build settings, wrangler or a file esbuild read changed. Returns
 * the entry module's path.
 */
export function buildWithWrangler(configPath: string, projectDir: string, buildRoot: string): Promise<string> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown> & {
    build?: { command?: string };
  };
  for (const k of NOT_BUILT) delete config[k];
  const key = sha256(`${JSON.stringify(config)}\0${WRANGLER_VERSION}`);
  const outDir = join(buildRoot, `wrangler-${key.slice(0, 16)}`);
  let built = inflight.get(outDir);
  if (!built) {
    // A custom build (build.command) reads files esbuild never sees: it is never served from the cache.
    built = build(configPath, projectDir, outDir, key, !config.build?.command);
    inflight.set(outDir, built);
    void built.finally(() => inflight.delete(outDir)).catch(() => undefined);
  }
  return built;
}

async function build(
  configPath: string,
  projectDir: string,
  outDir: string,
  key: string,
  cacheable: boolean,
): Promise<string> {
  const stampPath = join(outDir, STAMP);
  const entryOf = () =>
    join(outDir, (JSON.parse(readFileSync(join(outDir, ".entry.json"), "utf8")) as { entry: string }).entry);
  if (cacheable && isFresh(stampPath, key)) return entryOf();
  return withSlot(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const metafile = join(outDir, ".meta.json");
    await runWrangler(
      ["deploy", "--dry-run", "--outdir", outDir, "--metafile", metafile, "-c", configPath],
      projectDir,
      configPath,
    );
    const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, { entryPoint?: string }>;
    };
    const entry = Object.entries(meta.outputs).find(([, o]) => o.entryPoint)?.[0];
    if (!entry) throw new Error(`${configPath}: wrangler's build has no entry module`);
    // wrangler runs esbuild from the config's folder: the metafile's paths are relative to it.
    const root = dirname(configPath);
    writeFileSync(join(outDir, ".entry.json"), JSON.stringify({ entry: relative(outDir, resolve(root, entry)) }));
    stamp(
      stampPath,
      key,
      Object.keys(meta.inputs).map((p) => resolve(root, p)),
    );
    return entryOf();
  });
}

function runWrangler(args: string[], cwd: string, configPath: string): Promise<void> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [WRANGLER_BIN, ...args], {
      cwd,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_HIDE_BANNER: "true",
        FORCE_COLOR: "0",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
    proc.on("error", fail);
    proc.on("exit", (code) => {
      if (code === 0) return done();
      const reason = out
        .split("\n")
        .filter((l) => l.trim())
        .slice(-15)
        .join("\n  ");
      fail(new Error(`wrangler could not build ${configPath}:\n  ${reason}`));
    });
  });
}

import { existsSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Unstable_Config, Unstable_RawConfig } from "wrangler";
import { REPO_ROOT } from "./paths.ts";
import { readRawWranglerConfig, readWranglerConfig, wrangler } from "./wrangler-api.ts";

/** The config file names wrangler looks for, in its own order. */
export const CONFIG_FILES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];
const ENTRY_FILES = ["index.ts", "src/index.ts", "index.js", "src/index.js"];

/** What a manifest's `worker:` names: a Workers project (by its config file) or a bare entry file. */
export type AppSource = { kind: "project"; configPath: string } | { kind: "entry"; entry: string };

/**
 * Resolves `worker:` (relative to the manifest, else the working directory, else the repo): a folder
 * with a wrangler config is a project, a folder without one its entry file; a file is a config or an entry.
 */
export function findApp(worker: string, manifestDir: string): AppSource {
  // Each folder once: run from the repo's root, the working directory is the repo.
  const bases = [...new Set([resolve(manifestDir), process.cwd(), REPO_ROOT])];
  for (const base of bases) {
    const p = resolve(base, worker);
    if (!existsSync(p)) continue;
    if (!statSync(p).isDirectory())
      return CONFIG_FILES.includes(basename(p)) || /\.(jsonc?|toml)$/.test(p)
        ? { kind: "project", configPath: p }
        : { kind: "entry", entry: p };
    const config = CONFIG_FILES.map((f) => join(p, f)).find((f) => existsSync(f));
    if (config) return { kind: "project", configPath: config };
    const entry = ENTRY_FILES.map((f) => join(p, f)).find((f) => existsSync(f));
    if (entry) return { kind: "entry", entry };
    throw new Error(`${p} has no ${CONFIG_FILES.join(", ")} and no entry file (${ENTRY_FILES.join(", ")})`);
  }
  const where = bases.length > 1 ? `${bases.slice(0, -1).join(", ")} and ${bases.at(-1)}` : bases[0];
  throw new Error(`"${worker}" not found (looked relative to ${where})`);
}

/** A Workers project read by wrangler: its normalized config (for bindings) and its file as written. */
export type AppProject = { configPath: string; dir: string; config: Unstable_Config; raw: Unstable_RawConfig };

/** Reads a project's config with wrangler's own reader; a config wrangler rejects fails with wrangler's message. */
export function readApp(configPath: string): AppProject {
  try {
    return {
      configPath,
      dir: dirname(configPath),
      config: readWranglerConfig(configPath),
      raw: readRawWranglerConfig(configPath),
    };
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message.trim()}`);
  }
}

/** Every name the app's env has, with its kind (d1, kv_namespace, plain_text, …), as wrangler derives them. */
export function appBindings(app: AppProject): Map<string, string> {
  const bindings = wrangler().unstable_convertConfigBindingsToStartWorkerBindings(app.config) ?? {};
  const names = new Map(Object.entries(bindings).map(([name, b]) => [name, (b as { type: string }).type]));
  for (const secret of app.config.secrets?.required ?? []) names.set(secret, "secret");
  return names;
}

/**
 * Fields the generated config does not keep, and why: the mesh names the Worker; a version is reached
 * only through its edge (public routes would bypass the mesh, and two versions cannot own one route);
 * `env` sections are not deployed (`wrangler deploy` without `--env` uses the top level, as here).
 */
const DROPPED = ["$schema", "name", "env", "route", "routes", "workers_dev", "preview_urls", "dev"] as const;

/**
 * The app's config as the generated file keeps it: everything the user wrote at the top level, with
 * every path (relative to the app's config file in wrangler's semantics) rebased onto `toDir`.
 * By hand because wrangler exports nothing that moves a config, and its normalized config cannot be
 * written back (it mixes absolute, cwd-relative and config-relative paths, and fills every default).
 */
export function keptConfig(app: AppProject, toDir: string): { kept: Record<string, unknown>; dropped: string[] } {
  const raw = structuredClone(app.raw) as Record<string, any>;
  const dropped = DROPPED.filter((k) => k in raw && !["$schema", "name", "dev"].includes(k));
  for (const k of DROPPED) delete raw[k];
  const rebase = (p: string) => (isAbsolute(p) ? p : relative(toDir, resolve(app.dir, p)) || ".");
  const onDisk = (p: string) => existsSync(resolve(app.dir, p));
  if (typeof raw.main === "string") raw.main = rebase(raw.main);
  for (const k of ["base_dir", "tsconfig"]) if (typeof raw[k] === "string") raw[k] = rebase(raw[k]);
  if (raw.build) {
    // Without these, wrangler would run the custom build (and watch) in the generated config's folder.
    raw.build.cwd = rebase(raw.build.cwd ?? ".");
    raw.build.watch_dir = Array.isArray(raw.build.watch_dir)
      ? raw.build.watch_dir.map(rebase)
      : rebase(raw.build.watch_dir ?? "./src");
  }
  if (raw.site?.bucket) raw.site.bucket = rebase(raw.site.bucket);
  if (raw.assets?.directory) raw.assets.directory = rebase(raw.assets.directory);
  for (const k of ["wasm_modules", "text_blobs", "data_blobs"])
    if (raw[k])
      raw[k] = Object.fromEntries(Object.entries(raw[k] as Record<string, string>).map(([n, p]) => [n, rebase(p)]));
  if (raw.alias)
    raw.alias = Object.fromEntries(
      Object.entries(raw.alias as Record<string, string>).map(([n, p]) => [n, p.startsWith(".") ? rebase(p) : p]),
    );
  // wrangler's default (./migrations) is relative to the config file, so it is written out.
  for (const d of raw.d1_databases ?? []) d.migrations_dir = rebase(d.migrations_dir ?? "./migrations");
  for (const c of raw.containers ?? []) {
    if (typeof c.image === "string" && onDisk(c.image)) c.image = rebase(c.image);
    if (typeof c.image_build_context === "string") c.image_build_context = rebase(c.image_build_context);
  }
  return { kept: raw, dropped };
}

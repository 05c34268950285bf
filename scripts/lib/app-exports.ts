import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { Log, LogLevel, type Miniflare, type WorkerOptions } from "miniflare";
import { VersionExports, type ServiceExports } from "../../shared/rpc/exports.ts";
import { isRpcMethodName } from "../../shared/rpc/method.ts";
import { sha256 } from "./build-cache.ts";
import { bundleWorker } from "./bundle.ts";
import { generate, type GeneratedMesh, type GenOptions } from "./gen.ts";
import { WORKER_ENTRY } from "./paths.ts";
import { readWranglerConfig, wrangler } from "./wrangler-api.ts";
import { buildWithWrangler } from "./wrangler-build.ts";
import { ownedMiniflare } from "./scratch-dir.ts";

// What each app version exports for Workers RPC, read from its build when the mesh is generated.
//
// Why run the build: a method of a WorkerEntrypoint class exists once its module has run (a
// bundle renames classes, mixins and decorators add methods, a Hono app is an object), so the
// honest list is the one workerd itself sees. Each build is loaded in workerd (one Miniflare for
// every version whose list is not cached), beside a module that imports it and lists, for each
// export that extends WorkerEntrypoint, the names on its prototype chain; nothing of the app is
// called but its module's top level, which workerd runs on every deploy anyway. A build that
// cannot load here (it needs a binding at the top level, say) is "not known": the edge then
// forwards every method and the control plane skips the checks that need the list.

/** One built app version to read. */
export type BuiltApp = {
  service: string;
  version: string;
  /** The built entry module. */
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  modulesRules?: WorkerOptions["modulesRules"];
};

export type DiscoveredExports = {
  exports: Record<string, ServiceExports>;
  unknown: { service: string; version: string; reason: string }[];
};

const STARTING = JSON.stringify({ error: { code: "starting", message: "isomesh is reading the apps' exports" } });

/** The module that lists a build's entrypoints and their methods (runs in workerd). Its socket answers only this start. */
const LISTER = (entry: string, secret: string) => `import { WorkerEntrypoint } from "cloudflare:workers";
const OWN = new Set(Object.getOwnPropertyNames(WorkerEntrypoint.prototype));
function methodsOf(cls) {
  const names = new Set();
  for (let p = cls.prototype; p && p !== WorkerEntrypoint.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const n of Object.getOwnPropertyNames(p)) if (!OWN.has(n)) names.add(n);
  return [...names].sort();
}
export default {
  async fetch(request) {
    if (request.headers.get("x-isomesh-exports") !== ${JSON.stringify(secret)})
      return new Response(${JSON.stringify(STARTING)}, { status: 503, headers: { "content-type": "application/json", "x-isomesh-error": "starting" } });
    let app;
    try { app = await import(${JSON.stringify(entry)}); }
    catch (e) { return Response.json({ error: String(e && e.message || e) }); }
    const entrypoints = {};
    for (const [name, value] of Object.entries(app)) {
      if (typeof value === "function" && value.prototype instanceof WorkerEntrypoint) entrypoints[name] = methodsOf(value);
      else if (name === "default" && value && typeof value === "object") entrypoints.default = []; // an object handler has no RPC methods
    }
    return Response.json({ entrypoints });
  },
};
`;

/**
 * Reads what every app exports, from the cache where its build and compatibility settings are
 * unchanged, else by loading the builds in workerd (see the note at the top of this file).
 */
export async function discoverExports(apps: BuiltApp[], buildRoot: string): Promise<DiscoveredExports> {
  const dir = join(buildRoot, "exports");
  mkdirSync(dir, { recursive: true });
  const result: DiscoveredExports = { exports: {}, unknown: [] };
  const keyOf = (a: BuiltApp) =>
    sha256(
      [
        readFileSync(a.scriptPath, "utf8"),
        stampBeside(a.scriptPath),
        a.compatibilityDate,
        ...a.compatibilityFlags,
      ].join("\0"),
    ).slice(0, 24);
  const pending: { app: BuiltApp; key: string }[] = [];
  const record = (a: BuiltApp, listed: VersionExports | { error: string }) => {
    if ("error" in listed && typeof listed.error === "string")
      result.unknown.push({ service: a.service, version: a.version, reason: listed.error });
    // `fetch` and the other handlers are not RPC methods (workerd never sends them as calls).
    else
      (result.exports[a.service] ??= {})[a.version] = Object.fromEntries(
        Object.entries(listed as VersionExports).map(([e, names]) => [e, names.filter(isRpcMethodName)]),
      );
  };
  for (const app of apps) {
    const key = keyOf(app);
    const cached = join(dir, `${key}.json`);
    if (existsSync(cached)) record(app, JSON.parse(readFileSync(cached, "utf8")));
    else pending.push({ app, key });
  }
  if (pending.length === 0) return result;

  // Versions built from one bundle share one lister.
  const secret = randomBytes(16).toString("hex");
  const distinct = [...new Map(pending.map((p) => [p.key, p])).values()];
  const workers: WorkerOptions[] = distinct.map(({ app, key }) => {
    const lister = join(dir, `${key}.lister.mjs`);
    // The lister sits in its own folder; the build is imported by its path relative to the build root.
    const entry = relative(dir, app.scriptPath).split(sep).join("/");
    writeFileSync(lister, LISTER(entry.startsWith(".") ? entry : `./${entry}`, secret));
    return {
      name: `exports-${key}`,
      modules: true,
      scriptPath: lister,
      modulesRoot: buildRoot,
      modulesRules: [
        { type: "ESModule", include: [relative(buildRoot, app.scriptPath).split(sep).join("/")], fallthrough: true },
        ...(app.modulesRules ?? []),
      ],
      compatibilityDate: app.compatibilityDate,
      compatibilityFlags: app.compatibilityFlags,
    };
  });
  let mf: Miniflare | undefined;
  try {
    mf = ownedMiniflare({ workers, log: new Log(LogLevel.NONE), cf: false });
    await mf.ready;
    for (const { app, key } of pending) {
      const res = await (
        await mf.getWorker(`exports-${key}`)
      ).fetch("http://exports/", {
        headers: { "x-isomesh-exports": secret },
      });
      const body = (await res.json()) as { entrypoints?: unknown; error?: string };
      const listed = body.error !== undefined ? { error: body.error } : VersionExports.safeParse(body.entrypoints);
      const value =
        "success" in listed
          ? listed.success
            ? listed.data
            : { error: `unexpected exports: ${listed.error.message}` }
          : listed;
      writeFileSync(join(dir, `${key}.json`), JSON.stringify(value));
      record(app, value);
    }
  } catch (e) {
    // One build workerd cannot load fails the whole instance: those versions are not known.
    for (const { app } of pending)
      if (!result.exports[app.service]?.[app.version])
        result.unknown.push({
          service: app.service,
          version: app.version,
          reason: (e as Error).message.split("\n")[0],
        });
  } finally {
    await mf?.dispose();
  }
  return result;
}

/** A wrangler build's stamp lists every input's hash: part of the cache key when the entry imports chunks. */
function stampBeside(scriptPath: string): string {
  const stamp = join(dirname(scriptPath), ".isomesh-build.json");
  return basename(dirname(scriptPath)).startsWith("wrangler-") && existsSync(stamp) ? readFileSync(stamp, "utf8") : "";
}

/** Reads the apps' exports from their builds (cached by content); undefined when no app's are known. */
export async function appExportsOf(
  mesh: GeneratedMesh,
  built: (Promise<string> | undefined)[],
  buildRoot: string,
  warn: (l: string) => void,
) {
  const apps: BuiltApp[] = [];
  const known: Record<string, ServiceExports> = {};
  for (const [i, w] of mesh.workers.entries()) {
    if (w.role !== "app") continue;
    // The echo backend is an object handler: no RPC methods, nothing to load.
    if (w.build.kind === "esbuild" && w.build.entry === WORKER_ENTRY.echo) {
      (known[w.service!] ??= {})[w.version!] = { default: [] };
      continue;
    }
    const config = readWranglerConfig(w.configPath);
    const { workerOptions } = wrangler().unstable_getMiniflareWorkerOptions(config);
    // A build that fails is the start's (or the deploy's) error to report, not this list's.
    const scriptPath = await built[i]?.catch(() => undefined);
    if (scriptPath === undefined) continue;
    apps.push({
      service: w.service!,
      version: w.version!,
      scriptPath,
      compatibilityDate: config.compatibility_date ?? mesh.manifest.compatibilityDate,
      compatibilityFlags: config.compatibility_flags ?? [],
      modulesRules: workerOptions.modulesRules,
    });
  }
  const found = await discoverExports(apps, buildRoot);
  for (const u of found.unknown)
    warn(
      `${u.service}/${u.version}'s exports could not be read from its build (${u.reason}): its edge forwards every RPC method unchecked`,
    );
  for (const [service, versions] of Object.entries(found.exports)) Object.assign((known[service] ??= {}), versions);
  return Object.keys(known).length ? known : undefined;
}

/**
 * `isomesh gen` and `deploy`: the configs with every app's exports in the topology. Builds each app
 * as `isomesh dev` does (into the same cache), reads its exports, then generates again with them.
 */
export async function generateWithExports(
  manifestPath: string,
  opts: GenOptions,
  buildRoot: string,
  warn: (l: string) => void,
): Promise<GeneratedMesh> {
  const first = generate(manifestPath, { ...opts, validate: false });
  const built = first.workers.map((w) =>
    w.role !== "app"
      ? undefined
      : w.build.kind === "esbuild"
        ? bundleWorker(w.build.entry, w.config.define, buildRoot)
        : w.build.kind === "wrangler"
          ? buildWithWrangler(w.configPath, w.build.projectDir, buildRoot)
          : undefined,
  );
  for (const b of built) b?.catch(() => undefined);
  const exports = await appExportsOf(first, built, buildRoot, warn);
  return generate(manifestPath, { ...opts, exports });
}

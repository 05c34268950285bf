import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { Log, LogLevel, type Miniflare, type WorkerOptions } from "miniflare";
import type { Unstable_Config } from "wrangler";
import { BOOTSTRAP_MODULE, bundleWorker, INLINE_MODULE } from "./bundle.ts";
import { DEV_START_HEADER, type Guard, guardedEntry, guardModule, READY_PATH } from "./entry-guard.ts";
import { applyD1Migrations, type AppliedMigrations, type D1Target } from "./d1-migrations.ts";
import { generate, type GeneratedMesh, type GenOptions } from "./gen.ts";
import { readWranglerConfig, wrangler } from "./wrangler-api.ts";
import { buildWithWrangler } from "./wrangler-build.ts";
import { appExportsOf } from "./app-exports.ts";
import { assetsPerWorker } from "./assets-per-worker.ts";
import { lockState } from "./state-lock.ts";
import { ownedMiniflare } from "./scratch-dir.ts";
import type { GeneratedWorker } from "./wrangler-config.ts";
import { devKeyFile, loadOrCreateKeys, publicKeys, SIGNING_SECRET, signingKey } from "./beacon-keys.ts";
import { CONTROL, EGRESS, GATEWAY, INLINE_CONTROL, INLINE_DEV_GUARD, meshWorkerName } from "../../shared/names.ts";
import { hasEgress } from "../../shared/manifest/topology.ts";

export type MeshRuntimeOptions = {
  manifestPath: string;
  /** The gateway's port; 0 lets workerd pick one (read it back from `gatewayUrl`). */
  port: number;
  /** Default: port + 1, or 0 (workerd picks) when port is 0. */
  adminPort?: number;
  stateDir: string;
  adminToken: string;
  /** Extra tokens, e.g. a viewer: [{name, token, role}]. */
  extraTokens?: { name: string; token: string; role: "viewer" | "editor" }[];
  persist?: boolean;
  logLevel?: LogLevel;
  gen?: Partial<GenOptions>;
  /** Called with every line a worker logs (access logs are JSON lines), and with the mesh's own warnings. */
  onLog?: (line: string) => void;
  /** Extra workers to serve on their own port (0: workerd picks; read it with `miniflare.unsafeGetDirectURL`), by short name (benchmarks call a service edge directly). */
  expose?: Record<string, number>;
  /**
   * `auto` (default): the gateway and the admin API serve once the apps are built and pending D1
   * migrations applied, before `startMesh` returns. `manual`: they answer 503 `starting` until
   * `ready()` (calls made with `startHeaders` get through before: `isomesh dev` applies the defaults).
   */
  ready?: "auto" | "manual";
};

export type MeshRuntime = {
  mesh: GeneratedMesh;
  gatewayUrl: string;
  adminUrl: string;
  miniflare: Miniflare;
  /** The D1 migrations applied on this start, per database. */
  migrations: AppliedMigrations[];
  /** A worker's name in Miniflare (and on the account) from its short name: `workerName("control")`. */
  workerName(short: string): string;
  /** Where this start's time went (ms): generating the configs (and the edge bundle), bundling and converting every worker's config, workerd starting every worker. */
  timings: { generateMs: number; workersMs: number; workerdMs: number };
  /** Headers that let a call through the gateway or the admin API before the mesh is ready (`ready: "manual"`). */
  startHeaders: Record<string, string>;
  /** Opens the gateway and the admin API (once; `ready: "auto"` has done it). */
  ready(): Promise<void>;
  dispose(): Promise<void>;
};

/**
 * Runs a whole mesh in one workerd process from its generated wrangler configs: the gateway on
 * `port`, the admin API on `adminPort`, every other worker reachable only through bindings. Each
 * config becomes Miniflare options through wrangler's own conversion, so every binding kind works
 * locally, persisted under `stateDir/v3` (wrangler's layout: `wrangler d1 execute --local
 * --persist-to <state>` sees the same data); pending D1 migrations are applied before it returns.
 */
export async function startMesh(o: MeshRuntimeOptions): Promise<MeshRuntime> {
  const state = resolve(o.stateDir);
  const started = performance.now();
  // One isomesh dev per state folder (state-lock.ts): a second one is refused before anything starts.
  const unlock = lockState(state, relative(process.cwd(), o.manifestPath) || o.manifestPath);
  try {
    return await startLocked(o, state, started, unlock);
  } catch (e) {
    unlock();
    throw e;
  }
}

async function startLocked(
  o: MeshRuntimeOptions,
  state: string,
  started: number,
  unlock: () => void,
): Promise<MeshRuntime> {
  // The beacon keys live with the state they sign for: a restart keeps them, a new state makes its own.
  const keys = (await loadOrCreateKeys(devKeyFile(state))).file;
  const genOptions = {
    outDir: join(state, "gen"),
    refreshIntervalMs: 500,
    beaconKeys: JSON.stringify(publicKeys(keys)),
    ...o.gen,
    target: "dev" as const,
    validate: false,
  };
  const first = generate(o.manifestPath, genOptions);
  let generateMs = performance.now() - started;
  const persist = o.persist !== false;
  if (persist) adoptEarlierState(state);
  const warn = (line: string) => (o.onLog ? o.onLog(line) : process.stderr.write(line + "\n"));
  // The mesh's own bundles start first: esbuild works in its own process while wrangler loads here.
  // (Every edge runs the one edge bundle `generate` built, as in production.)
  const bundles = new Map<string, Promise<string>>();
  const buildRoot = join(state, "build");
  const built = first.workers.map((w) =>
    w.build.kind === "esbuild"
      ? bundleWorker(w.build.entry, w.config.define, buildRoot, bundles)
      : w.build.kind === "wrangler"
        ? buildWithWrangler(w.configPath, w.build.projectDir, buildRoot).catch((e: Error) => {
            throw new Error(`${w.service}/${w.version}: ${e.message}`);
          })
        : undefined,
  );
  for (const b of built) b?.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  // What each app exports for Workers RPC is read from its build and shipped in the topology
  // (app-exports.ts): generate once more with it. Builds do not depend on it, so they are not redone.
  const exports = await appExportsOf(first, built, buildRoot, warn);
  const regenerating = performance.now();
  const mesh = exports ? generate(o.manifestPath, { ...genOptions, exports }) : first;
  generateMs += performance.now() - regenerating; // waiting for the builds counts as the workers' time, as before
  const names = new Set(mesh.workers.map((w) => w.config.name));
  const versionNames = new Set(mesh.workers.filter((w) => w.role === "app").map((w) => w.config.name));
  const byShort = new Map(mesh.workers.map((w) => [w.name, w.config.name]));
  const workerName = (short: string) => byShort.get(short) ?? meshWorkerName(mesh.manifest.name, short);
  const control = workerName(CONTROL);
  const egress = hasEgress(mesh.manifest)
    ? new Set(mesh.manifest.services.filter((s) => s.egress).map((s) => s.name))
    : undefined;
  const adminPort = o.adminPort ?? (o.port === 0 ? 0 : o.port + 1);
  const tokens = JSON.stringify([{ name: "admin", token: o.adminToken, role: "editor" }, ...(o.extraTokens ?? [])]);
  const d1: D1Target[][] = mesh.workers.map(() => []);
  const builds: string[] = [];
  const appGuard = randomBytes(16).toString("hex"); // what an edge shows its apps (entry-guard.ts)
  const startSecret = randomBytes(16).toString("hex"); // what the CLI shows the gates while starting

  // Services with a version that serves assets: Miniflare's assets router drops props on the way to
  // those versions, so their edge shows them this run's secret instead (entry-guard.ts). The others'
  // edges reach their versions with props, as the edges themselves are reached: no header is written
  // on the hop, so what isomesh dev (and npm run bench) runs costs what production runs.
  const assetServices = new Set(mesh.workers.filter((w) => w.role === "app" && w.config.assets).map((w) => w.service));
  const workers: WorkerOptions[] = await Promise.all(
    mesh.workers.map(async (w, i): Promise<WorkerOptions> => {
      const config = readWranglerConfig(w.configPath);
      // An app's .dev.vars and .env stay in its own folder: wrangler reads them beside the user's config.
      if (w.build.kind === "wrangler") config.userConfigPath = w.build.userConfigPath;
      const { workerOptions } = wrangler().unstable_getMiniflareWorkerOptions(config);
      // Miniflare's own entry socket reaches any worker by name: all but the gateway and the admin
      // API answer only requests that came through a mesh binding (entry-guard.ts says why).
      // An inline app refuses by itself what no mesh binding brought (its inbound wants the binding's props).
      // The gateway and the admin API answer 503 `starting` until the mesh is ready (entry-guard.ts).
      const open = w.inlineInbound || o.expose?.[w.name] !== undefined;
      const guard: Guard | undefined =
        w.role === "gateway" || w.role === "control"
          ? { kind: "gate", secret: startSecret }
          : open
            ? undefined
            : w.role === "app" && assetServices.has(w.service)
              ? { kind: "secret", secret: appGuard }
              : { kind: "props" };
      const entry = await scriptOf(w, built[i], state, guard, workerOptions.modulesRules); // the second generation lists the same workers in the same order
      if (entry.built) builds.push(entry.built);
      const opts: WorkerOptions = { ...workerOptions, name: w.config.name, ...entry.options };
      if (w.role === "gateway" || (w.role === "edge" && assetServices.has(w.service)))
        opts.bindings = { ...opts.bindings, DEV_APP_GUARD: appGuard };
      // Inline callers (apps, the gateway) call versions directly: the same secret stands in for the
      // props Miniflare's assets router drops (entry-guard.ts), in isomesh dev only.
      if (w.role === "app" && config.services?.some((b) => b.binding === INLINE_CONTROL))
        opts.bindings = { ...opts.bindings, [INLINE_DEV_GUARD]: appGuard };
      opts.serviceBindings = serviceBindingsOf(w, config, names, mesh.projectWorkers, warn);
      if (w.role === "edge" && !assetServices.has(w.service)) withEdgeProps(w, opts.serviceBindings, versionNames);
      keepLocalTargets(w, opts, names, warn);
      stableControlObjects(w, opts, control);
      for (const db of config.d1_databases ?? []) {
        const entry = workerOptions.d1Databases?.[db.binding as keyof typeof workerOptions.d1Databases] as
          string | { id: string } | undefined;
        const databaseId = typeof entry === "string" ? entry : (entry?.id ?? db.binding);
        const dir = resolve(dirname(w.configPath), db.migrations_dir ?? "migrations");
        d1[i].push({
          worker: w.config.name,
          user: `${w.service}/${w.version}`,
          database: db.database_name ?? databaseId,
          binding: db.binding,
          databaseId,
          dir,
          table: db.migrations_table ?? "d1_migrations",
        });
      }
      const exposed = o.expose?.[w.name];
      if (exposed !== undefined) opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: exposed }];
      if (w.role === "gateway") opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: o.port }];
      // Like a sidecar's iptables capture: an app's global fetch() goes through the egress edge
      // (REGISTRY_ONLY), so a call that would bypass the mesh in production shows up here.
      if (w.role === "app" && egress)
        opts.outboundService = {
          name: workerName(EGRESS),
          props: {
            caller: w.service,
            version: w.version,
            captured: egress.has(w.service!) ? "declared" : "undeclared",
          },
        };
      if (w.role === "control") {
        opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: adminPort }];
        opts.bindings = {
          ...opts.bindings,
          ADMIN_TOKENS: tokens,
          [SIGNING_SECRET]: JSON.stringify(signingKey(keys)),
        };
      }
      return opts;
    }),
  );
  const prepared = performance.now();
  pruneBuilds(
    join(state, "build"),
    new Set([...builds, ...workers.flatMap((w) => (w.scriptPath ? [String(w.scriptPath)] : []))]),
  );
  // The gateway first: it is also Miniflare's own entry worker (a random loopback port, see entry-guard.ts).
  const gateway = workerName(GATEWAY);
  workers.sort((a: WorkerOptions, b: WorkerOptions) => Number(b.name === gateway) - Number(a.name === gateway));

  assetsPerWorker(); // each version serves its own project's files (assets-per-worker.ts says why)
  const miniflare = ownedMiniflare({
    host: "127.0.0.1",
    port: 0,
    workers,
    // Every binding kind (KV, D1, R2, Durable Objects, Queues, Workflows, …) persists here.
    defaultPersistRoot: persist ? join(state, "v3") : undefined,
    cachePersist: false,
    cf: false,
    // For profiling the workers with Chrome DevTools (scripts/bench/profile.ts); off by default.
    inspectorPort: process.env.ISOMESH_INSPECTOR_PORT ? Number(process.env.ISOMESH_INSPECTOR_PORT) : undefined,
    log: o.onLog ? new CallbackLog(o.logLevel ?? LogLevel.INFO, o.onLog) : new Log(o.logLevel ?? LogLevel.WARN),
    // Worker console output (access logs are JSON lines) goes to onLog, line by line.
    handleRuntimeStdio: o.onLog
      ? (stdout: Readable, stderr: Readable) => [stdout, stderr].forEach((s) => lines(s, o.onLog!))
      : undefined,
  });
  const dispose = () => miniflare.dispose();
  try {
    await miniflare.ready;
    const timings = { generateMs, workersMs: prepared - started - generateMs, workerdMs: performance.now() - prepared };
    const migrations = await applyD1Migrations(miniflare, d1.flat());
    const gatewayUrl = (await miniflare.unsafeGetDirectURL(gateway)).origin;
    const adminUrl = (await miniflare.unsafeGetDirectURL(workerName(CONTROL))).origin;
    const startHeaders = { [DEV_START_HEADER]: startSecret };
    let opened: Promise<void> | undefined;
    const ready = () =>
      (opened ??= Promise.all(
        [gatewayUrl, adminUrl].map(async (url) => {
          const res = await fetch(url + READY_PATH, { method: "POST", headers: startHeaders });
          if (res.status !== 204)
            throw new Error(`isomesh dev: ${url} did not open (${res.status} ${await res.text()})`);
        }),
      ).then(() => undefined));
    if ((o.ready ?? "auto") === "auto") await ready();
    return {
      mesh,
      gatewayUrl,
      adminUrl,
      miniflare,
      migrations,
      workerName,
      timings,
      startHeaders,
      ready,
      dispose: () => dispose().finally(unlock),
    };
  } catch (e) {
    await dispose().catch(() => undefined);
    throw e;
  }
}

/** Builds no worker of this start uses (an edited app, a removed version) are removed, so the folder does not grow. */
function pruneBuilds(dir: string, used: Set<string>) {
  const keep = new Set([...used].map((p) => relative(dir, p).split(sep)[0]));
  keep.add("exports"); // app-exports.ts's cache
  for (const entry of readdirSync(dir))
    if (!keep.has(entry.replace(/\.stamp\.json$/, ""))) rmSync(join(dir, entry), { recursive: true, force: true });
}

/**
 * A worker's modules, behind the dev entry guard unless `guard` is undefined (a virtual entry module
 * that re-exports the worker: nothing is written beside a build several workers share).
 * - The mesh's own bundles are one module each (esbuild inlines text; `cloudflare:*` and `node:*` are
 *   the runtime's), so they are listed, not discovered: Miniflare would otherwise parse each one with
 *   its JavaScript parser to find its imports (a quarter of a second for the control plane's).
 * - An edge gets exactly what wrangler uploads for it: the shared edge bundle as `index.js` and its
 *   bootstrap snapshot as the `bootstrap.snapshot` text module beside it. Every edge names the same
 *   bundle file, so the mesh builds it once and workerd reads the same code for every edge.
 * - A wrangler build may hold further modules (text, wasm, chunks): Miniflare finds them from its entry,
 *   under wrangler's rules.
 */
async function scriptOf(
  w: GeneratedWorker,
  bundled: Promise<string> | undefined,
  state: string,
  guard: Guard | undefined,
  rules: WorkerOptions["modulesRules"],
) {
  if (w.build.kind === "wrangler") {
    const scriptPath = await bundled!;
    const options = guard
      ? guardedEntry(scriptPath, join(state, "build"), guard, rules)
      : { scriptPath, modulesRoot: dirname(scriptPath) };
    return { built: scriptPath, options: { modules: true, ...options } };
  }
  const entry = w.build.kind === "edge" ? w.build.bundle : await bundled!;
  const root = dirname(entry);
  const modules: { type: "ESModule" | "Text"; path: string; contents?: string }[] = [{ type: "ESModule", path: entry }];
  if (w.build.kind === "edge")
    modules.push(
      { type: "Text", path: join(root, BOOTSTRAP_MODULE), contents: w.build.bootstrap },
      { type: "Text", path: join(root, INLINE_MODULE), contents: w.build.inline },
    );
  if (guard)
    modules.unshift({
      type: "ESModule",
      path: join(root, `dev-guard.${guard.kind}.mjs`),
      contents: guardModule(`./${basename(entry)}`, guard),
    });
  return {
    built: w.build.kind === "esbuild" ? entry : undefined,
    options: { modules, modulesRoot: root, modulesRules: undefined },
  };
}

/**
 * Service bindings as the config declares them, props included (wrangler's conversion drops them,
 * and the mesh's caller identity is a prop). A binding to a Worker that is not part of this mesh has
 * nothing to reach locally: it answers 503 `service_not_local` instead of failing the whole start.
 * (An app's binding to a Worker the mesh runs is a mesh call already: only a brownfield version's
 * own config, kept as written, can name a meshed version's Worker by its project's name.)
 */
/** isomesh dev only: an edge's bindings to its versions carry props naming it (what their entry guard admits). */
function withEdgeProps(w: GeneratedWorker, bindings: WorkerOptions["serviceBindings"], versions: Set<string>) {
  for (const [name, b] of Object.entries(bindings ?? {})) {
    if (typeof b !== "object" || b === null || !("name" in b) || typeof b.name !== "string") continue;
    const binding = b as { name: string; props?: unknown };
    if (versions.has(binding.name) && binding.props === undefined)
      bindings![name] = { ...binding, props: { caller: w.name } } as typeof b;
  }
}

function serviceBindingsOf(
  w: GeneratedWorker,
  config: Unstable_Config,
  names: Set<string>,
  projectWorkers: Map<string, string>,
  warn: (l: string) => void,
): WorkerOptions["serviceBindings"] {
  const out: NonNullable<WorkerOptions["serviceBindings"]> = {};
  for (const s of config.services ?? []) {
    if (names.has(s.service)) {
      out[s.binding] = { name: s.service, entrypoint: s.entrypoint, props: s.props };
      continue;
    }
    const version = projectWorkers.get(s.service);
    const message = version
      ? `${w.name}'s binding ${s.binding} names "${s.service}", the Worker of ${version}'s project, which this mesh runs only as a mesh service: ${w.name} is deployed by your own pipeline with its config as written, so add the service bindings \`isomesh gen\` prints for it`
      : `${w.name}'s binding ${s.binding} names the Worker "${s.service}", which is not part of this mesh, so isomesh dev cannot run it (add its project to the manifest as a service version: the binding then becomes a mesh call)`;
    warn(`isomesh dev: ${message}; locally it answers 503 service_not_local`);
    out[s.binding] = async () =>
      Response.json(
        { error: { code: "service_not_local", message } },
        { status: 503, headers: { "x-isomesh-error": "service_not_local" } },
      );
  }
  // Client certificates live in Cloudflare's certificate store: locally the binding fetches
  // without presenting one (the same code path, so the egress edge's routing is exercised).
  for (const m of config.mtls_certificates ?? [])
    out[m.binding] = { network: { allow: ["public", "private"], deny: [] } };
  return out;
}

/**
 * What names a Worker outside the mesh cannot be served locally: a Durable Object binding to its
 * class, a tail consumer. Each is left out, with a warning, instead of failing the whole start.
 */
function keepLocalTargets(w: GeneratedWorker, opts: WorkerOptions, names: Set<string>, warn: (l: string) => void) {
  delete opts.mtlsCertificates;
  for (const key of ["tails", "streamingTails"] as const) {
    const all = (opts[key] ?? []) as unknown[];
    const outside = all.filter(
      (t): t is { name: string } => typeof t === "object" && t !== null && "name" in t && !names.has(String(t.name)),
    );
    for (const t of outside)
      warn(`isomesh dev: ${w.config.name}'s tail consumer "${t.name}" is not in this mesh: left out locally`);
    opts[key] = all.filter((t) => !outside.includes(t as { name: string })) as never;
  }
  for (const [binding, d] of Object.entries(opts.durableObjects ?? {})) {
    const script = typeof d === "string" ? undefined : (d as { scriptName?: string }).scriptName;
    if (script === undefined || names.has(script)) continue;
    warn(
      `isomesh dev: ${w.config.name}'s Durable Object binding ${binding} is a class of "${script}", which is not in this mesh: left out locally`,
    );
    delete opts.durableObjects![binding];
  }
}

/**
 * The control plane's Durable Objects (config, history, telemetry) keep one local identity whatever
 * the mesh's name: ids derive from the namespace's key, which would otherwise follow the Worker's
 * (now mesh-prefixed) name, and a state folder made before the prefix would lose its config.
 */
function stableControlObjects(w: GeneratedWorker, opts: WorkerOptions, control: string) {
  for (const d of Object.values(opts.durableObjects ?? {}) as {
    className: string;
    scriptName?: string;
    unsafeUniqueKey?: string;
  }[])
    if (typeof d === "object" && (d.scriptName ?? w.config.name) === control)
      d.unsafeUniqueKey = `isomesh-control-${d.className}`;
}

/** State from before wrangler's layout (kv/ and do/ directly under the state folder) moves into v3/, so an upgrade keeps every applied change. */
function adoptEarlierState(state: string) {
  for (const kind of ["kv", "do"]) {
    const old = join(state, kind);
    const now = join(state, "v3", kind);
    if (!existsSync(old) || existsSync(now)) continue;
    mkdirSync(join(state, "v3"), { recursive: true });
    renameSync(old, now);
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void) {
  let buffered = "";
  stream.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}

/** Miniflare log that hands worker output lines to a callback (for `isomesh dev` and tests). */
class CallbackLog extends Log {
  constructor(
    level: LogLevel,
    private readonly onLine: (line: string) => void,
  ) {
    super(level);
  }
  protected override log(message: string): void {
    this.onLine(message);
  }
}

import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { bundleWorker } from "./bundle.ts";
import { guardedEntry } from "./entry-guard.ts";
import { generate, type GeneratedMesh, type GenOptions } from "./gen.ts";
import type { GeneratedWorker } from "./wrangler-config.ts";
import { EGRESS } from "../../shared/names.ts";
import { hasEgress } from "../../shared/manifest/topology.ts";

export type MeshRuntimeOptions = {
  manifestPath: string;
  port: number;
  adminPort?: number;
  stateDir: string;
  adminToken: string;
  /** Extra tokens, e.g. a viewer: [{name, token, role}]. */
  extraTokens?: { name: string; token: string; role: "viewer" | "editor" }[];
  persist?: boolean;
  logLevel?: LogLevel;
  gen?: Partial<GenOptions>;
  /** Called with every line a worker logs (access logs are JSON lines). */
  onLog?: (line: string) => void;
  /** Extra workers to serve on their own port, by name (benchmarks call a service edge directly). */
  expose?: Record<string, number>;
};

export type MeshRuntime = {
  mesh: GeneratedMesh;
  gatewayUrl: string;
  adminUrl: string;
  miniflare: Miniflare;
  dispose(): Promise<void>;
};

/**
 * Runs a whole mesh in one workerd process from its generated wrangler configs: the gateway on
 * `port`, the admin API on `adminPort`, every other worker reachable only through bindings.
 */
export async function startMesh(o: MeshRuntimeOptions): Promise<MeshRuntime> {
  const state = resolve(o.stateDir);
  const mesh = generate(o.manifestPath, { outDir: join(state, "gen"), refreshIntervalMs: 500, ...o.gen });
  const bundles = new Map<string, Promise<string>>();
  const egress = hasEgress(mesh.manifest) ? new Set(mesh.manifest.services.filter((s) => s.egress).map((s) => s.name)) : undefined;
  const adminPort = o.adminPort ?? o.port + 1;
  const tokens = JSON.stringify([{ name: "admin", token: o.adminToken, role: "editor" }, ...(o.extraTokens ?? [])]);

  const workers: WorkerOptions[] = await Promise.all(
    mesh.workers.map(async (w): Promise<WorkerOptions> => {
      const scriptPath = await bundleWorker(w.entry, w.config.define, join(state, "build"), bundles);
      const exposed = o.expose?.[w.config.name];
      // Miniflare's own entry socket reaches any worker by name: all but the gateway and the admin
      // API answer only requests that came through a mesh binding (entry-guard.ts says why).
      const open = w.role === "gateway" || w.role === "control" || exposed !== undefined;
      const opts = toMiniflare(w, open ? scriptPath : guardedEntry(scriptPath));
      if (exposed) opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: exposed }];
      if (w.role === "gateway") opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: o.port }];
      // Like a sidecar's iptables capture: an app's global fetch() goes through the egress edge
      // (REGISTRY_ONLY), so a call that would bypass the mesh in production shows up here.
      if (w.role === "app" && egress)
        opts.outboundService = { name: EGRESS, props: { caller: w.service, version: w.version, captured: egress.has(w.service!) ? "declared" : "undeclared" } };
      if (w.role === "control") {
        opts.unsafeDirectSockets = [{ host: "127.0.0.1", port: adminPort }];
        opts.bindings = { ...opts.bindings, ADMIN_TOKENS: tokens };
      }
      return opts;
    }),
  );
  // The gateway first: it is also Miniflare's own entry worker (a random loopback port, see entry-guard.ts).
  workers.sort((a: WorkerOptions, b: WorkerOptions) => Number(b.name === "gateway") - Number(a.name === "gateway"));

  const persist = o.persist !== false;
  const miniflare = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers,
    kvPersist: persist ? join(state, "kv") : false,
    durableObjectsPersist: persist ? join(state, "do") : false,
    cachePersist: false,
    cf: false,
    // For profiling the workers with Chrome DevTools (scripts/bench/profile.ts); off by default.
    inspectorPort: process.env.ISOMESH_INSPECTOR_PORT ? Number(process.env.ISOMESH_INSPECTOR_PORT) : undefined,
    log: o.onLog ? new CallbackLog(o.logLevel ?? LogLevel.INFO, o.onLog) : new Log(o.logLevel ?? LogLevel.WARN),
    // Worker console output (access logs are JSON lines) goes to onLog, line by line.
    handleRuntimeStdio: o.onLog ? (stdout: Readable, stderr: Readable) => [stdout, stderr].forEach((s) => lines(s, o.onLog!)) : undefined,
  });
  await miniflare.ready;
  const gatewayUrl = `http://127.0.0.1:${o.port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return { mesh, gatewayUrl, adminUrl, miniflare, dispose: () => miniflare.dispose() };
}

/** Translates one generated wrangler config into Miniflare's worker options. */
function toMiniflare(w: GeneratedWorker, scriptPath: string): WorkerOptions {
  const c = w.config;
  return {
    name: c.name,
    modules: true,
    modulesRoot: dirname(scriptPath),
    scriptPath,
    compatibilityDate: c.compatibility_date,
    compatibilityFlags: c.compatibility_flags,
    bindings: c.vars ?? {},
    kvNamespaces: Object.fromEntries((c.kv_namespaces ?? []).map((k) => [k.binding, k.id])),
    durableObjects: Object.fromEntries((c.durable_objects?.bindings ?? []).map((d) => [d.name, { className: d.class_name, scriptName: d.script_name, useSQLite: true }])),
    serviceBindings: {
      ...Object.fromEntries((c.services ?? []).map((s) => [s.binding, { name: s.service, entrypoint: s.entrypoint, props: s.props }])),
      // Client certificates live in Cloudflare's certificate store: locally the binding fetches
      // without presenting one (the same code path, so the egress edge's routing is exercised).
      ...Object.fromEntries((c.mtls_certificates ?? []).map((m) => [m.binding, { network: { allow: ["public", "private"], deny: [] } }])),
    },
  };
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
  constructor(level: LogLevel, private readonly onLine: (line: string) => void) {
    super(level);
  }
  protected override log(message: string): void {
    this.onLine(message);
  }
}

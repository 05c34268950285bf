import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { meshOwnedNames, type Manifest } from "../../shared/manifest/schema.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { CONTROL, edgeBinding, edgeName, EGRESS, EGRESS_BINDING, GATEWAY, meshWorkerName, serviceBinding, versionBinding, versionWorkerName } from "../../shared/names.ts";
import { analyze } from "../../shared/analyze/index.ts";
import { splitDocuments, validateDocuments, type Document } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { edgesOf } from "../../shared/snapshot/scope.ts";
import { appBindings, findApp, keptConfig, readApp, type AppSource } from "./app-project.ts";
import { REPO_ROOT, WORKER_ENTRY } from "./paths.ts";
import type { GeneratedWorker, WranglerConfig } from "./wrangler-config.ts";

export type GenOptions = {
  outDir: string;
  /** KV namespace id for snapshots (production); any name works locally. */
  kvId?: string;
  refreshIntervalMs?: number;
  accessLog?: string;
  /** Share of new traces recorded (0..1); Istio's default is 1%, its demo profile 100%. */
  traceSampling?: number;
  otlpEndpoint?: string;
  /** `deploy` (default): a brownfield version is bound by its name, not generated; `dev`: it runs from its `worker:` folder. */
  target?: "deploy" | "dev";
  /** Read every generated file back with wrangler (default); `isomesh dev` skips it, since it reads each one right after. */
  validate?: boolean;
};

/** `notes`: what the user should know about the generated configs (fields not deployed, bindings a brownfield Worker needs). */
export type GeneratedMesh = { manifest: Manifest; manifestPath: string; workers: GeneratedWorker[]; defaults: Document[]; notes: string[] };

export function loadManifest(path: string): Manifest {
  return parseManifest(readFileSync(path, "utf8"), path);
}

/** Reads the manifest's `defaults` files: resources applied on first start and baked into bootstraps. */
export function loadDefaults(manifest: Manifest, manifestPath: string): Document[] {
  const docs: Document[] = [];
  for (const file of manifest.defaults) {
    const path = resolve(dirname(manifestPath), file);
    const { docs: raw, errors: splitErrors } = splitDocuments(readFileSync(path, "utf8"));
    const { parsed, errors } = validateDocuments(raw);
    const all = [...splitErrors, ...errors];
    if (all.length) throw new Error(all.map((e) => `${path}: ${e.resource} ${e.path}: ${e.message}`).join("\n"));
    docs.push(...parsed.map((p) => p.doc));
  }
  return docs;
}

/**
 * `isomesh gen`: one wrangler config per worker of the mesh (control plane, gateway, an edge per
 * service, every app version), written under `outDir/<worker>/wrangler.json`. `isomesh dev` and
 * `isomesh deploy` both run from these files, so local and production cannot diverge. An app that is
 * a Workers project keeps its whole config; the mesh adds only its own bindings and vars.
 */
export function generate(manifestPath: string, opts: GenOptions): GeneratedMesh {
  const manifest = loadManifest(manifestPath);
  const defaults = loadDefaults(manifest, manifestPath);
  const topology = topologyOf(manifest);
  const parsedDefaults = validateDocuments(defaults).parsed;
  const { errors } = analyze(topology, parsedDefaults.map((p) => p.resource));
  if (errors.length) throw new Error(errors.map((e) => `defaults: ${e.resource} ${e.path}: ${e.message}`).join("\n"));
  const stored = parsedDefaults.map((p) => ({ resource: p.resource, createdAt: 0 }));
  const out = resolve(opts.outDir);
  const workerName = (short: string) => meshWorkerName(manifest.name, short);
  const kv = [{ binding: "SNAPSHOTS", id: opts.kvId ?? "isomesh-snapshots" }];
  const base = { compatibility_date: manifest.compatibilityDate, compatibility_flags: ["nodejs_compat"], observability: { enabled: true } };
  const control = { binding: "CONTROL", service: workerName(CONTROL), entrypoint: "MeshControl" };
  const rateLimiter = { bindings: [{ name: "RATE_LIMITER", class_name: "RateLimiter", script_name: workerName(CONTROL) }] };
  const workers: Omit<GeneratedWorker, "configPath">[] = [];
  const notes: string[] = [];
  const esbuild = (entry: string) => ({ kind: "esbuild" as const, entry });

  const edgeVars = (edge: string) => ({
    EDGE_NAME: edge,
    MESH_NAME: manifest.name,
    REFRESH_INTERVAL_MS: String(opts.refreshIntervalMs ?? 1000),
    ...(opts.accessLog ? { ACCESS_LOG: opts.accessLog } : {}),
    ...(opts.traceSampling !== undefined ? { TRACE_SAMPLING: String(opts.traceSampling) } : {}),
  });
  // The bootstrap snapshot is compiled into the bundle (vars are limited to 5 KB in production).
  const bootstrap = (edge: string) => ({ ISOMESH_BOOTSTRAP_SNAPSHOT: JSON.stringify(JSON.stringify(compileSnapshot(topology, edge, stored, 0))) });

  workers.push({
    role: "control",
    name: CONTROL,
    build: esbuild(WORKER_ENTRY.control),
    config: {
      name: workerName(CONTROL),
      main: WORKER_ENTRY.control,
      ...base,
      vars: {
        TOPOLOGY: JSON.stringify(topology),
        ...(opts.otlpEndpoint ? { OTLP_ENDPOINT: opts.otlpEndpoint } : {}),
        ...(manifest.admin?.oidc ? { ADMIN_OIDC: JSON.stringify(manifest.admin.oidc) } : {}),
      },
      kv_namespaces: kv,
      durable_objects: {
        bindings: [
          { name: "CONFIG_STORE", class_name: "ConfigStore" },
          { name: "TELEMETRY", class_name: "Telemetry" },
          { name: "EXPLAIN", class_name: "ExplainStore" },
          { name: "RATE_LIMITER", class_name: "RateLimiter" },
        ],
      },
      migrations: [{ tag: "v1", new_sqlite_classes: ["ConfigStore", "Telemetry", "ExplainStore", "RateLimiter"] }],
      services: edgesOf(topology).map((e) => ({ binding: edgeBinding(e), service: workerName(e), props: { caller: CONTROL } })),
    },
  });
  workers.push({
    role: "gateway",
    name: GATEWAY,
    build: esbuild(WORKER_ENTRY.edge),
    config: {
      name: workerName(GATEWAY),
      main: WORKER_ENTRY.edge,
      ...base,
      ...(manifest.gateway?.routes.length ? { routes: manifest.gateway.routes } : {}),
      ...(manifest.gateway?.workersDev !== undefined ? { workers_dev: manifest.gateway.workersDev } : {}),
      vars: edgeVars(GATEWAY),
      define: bootstrap(GATEWAY),
      kv_namespaces: kv,
      durable_objects: rateLimiter,
      services: [control, ...manifest.services.map((s) => ({ binding: serviceBinding(s.name), service: workerName(edgeName(s.name)), props: { caller: GATEWAY } }))],
    },
  });
  if (topology.egress) {
    workers.push({
      role: "egress",
      name: EGRESS,
      build: esbuild(WORKER_ENTRY.edge),
      config: {
        name: workerName(EGRESS),
        main: WORKER_ENTRY.edge,
        ...base,
        workers_dev: false,
        vars: edgeVars(EGRESS),
        define: bootstrap(EGRESS),
        kv_namespaces: kv,
        durable_objects: rateLimiter,
        services: [control],
        ...(manifest.egress?.mtlsCertificates.length
          ? { mtls_certificates: manifest.egress.mtlsCertificates.map((c) => ({ binding: c.binding, certificate_id: c.certificateId })) }
          : {}),
      },
    });
  }
  const consumers = new Map<string, string>();
  manifest.services.forEach((s, i) => {
    const edge = edgeName(s.name);
    workers.push({
      role: "edge",
      service: s.name,
      name: edge,
      build: esbuild(WORKER_ENTRY.edge),
      config: {
        name: workerName(edge),
        main: WORKER_ENTRY.edge,
        ...base,
        workers_dev: false,
        vars: edgeVars(edge),
        define: bootstrap(edge),
        kv_namespaces: kv,
        durable_objects: rateLimiter,
        services: [control, ...s.versions.map((v) => ({ binding: versionBinding(v.name), service: v.deployed ?? workerName(versionWorkerName(s.name, v.name)) }))],
      },
    });
    s.versions.forEach((v, j) => {
      const at = `${manifestPath}: services[${i}].versions[${j}]`;
      const meshServices = [
        ...s.calls.map((callee) => ({ binding: serviceBinding(callee), service: workerName(edgeName(callee)), props: { caller: s.name, version: v.name } })),
        ...(s.egress ? [{ binding: EGRESS_BINDING, service: workerName(EGRESS), props: { caller: s.name, version: v.name } }] : []),
      ];
      const app = { role: "app" as const, service: s.name, version: v.name, name: versionWorkerName(s.name, v.name) };
      if (v.deployed !== undefined) {
        if (meshServices.length) notes.push(`${s.name}/${v.name} is the deployed Worker "${v.deployed}": for its calls to go through the mesh, its own config needs ${JSON.stringify({ services: meshServices })}`);
        if (opts.target !== "dev") return;
        if (v.worker === undefined) throw new Error(`${at}: "${v.deployed}" is deployed by your own pipeline; isomesh dev runs it from its project folder: add \`worker: <its folder>\``);
      }
      if (v.echo !== undefined) {
        const echo = v.echo === true ? {} : v.echo;
        workers.push({
          ...app,
          build: esbuild(WORKER_ENTRY.echo),
          config: {
            name: workerName(app.name),
            main: WORKER_ENTRY.echo,
            ...base,
            workers_dev: false,
            vars: {
              SERVICE: s.name,
              VERSION: v.name,
              ...(echo?.status !== undefined ? { ECHO_STATUS: String(echo.status) } : {}),
              ...(echo?.failRate !== undefined ? { ECHO_FAIL_RATE: String(echo.failRate) } : {}),
              ...(echo?.delayMs !== undefined ? { ECHO_DELAY_MS: String(echo.delayMs) } : {}),
              ...v.vars,
            },
            services: meshServices,
          },
        });
        return;
      }
      let source: AppSource;
      try {
        source = findApp(v.worker!, dirname(manifestPath));
      } catch (e) {
        throw new Error(`${at}.worker: ${(e as Error).message}`);
      }
      if (source.kind === "entry") {
        workers.push({
          ...app,
          build: esbuild(source.entry),
          config: { name: workerName(app.name), main: source.entry, ...base, workers_dev: false, vars: { SERVICE: s.name, VERSION: v.name, ...v.vars }, services: meshServices },
        });
        return;
      }
      const project = readApp(source.configPath);
      const name = v.deployed ?? workerName(app.name);
      if (!project.config.main) throw new Error(`${at}.worker: ${source.configPath} has no \`main\` (an assets-only Worker cannot be a mesh version)`);
      const { kept, dropped } = keptConfig(project, join(out, name));
      if (dropped.length) notes.push(`${s.name}/${v.name}: ${dropped.join(", ")} of ${source.configPath} ${dropped.length > 1 ? "are" : "is"} not deployed: a version is reached through its edge (the gateway's public routes are the manifest's gateway.routes)`);
      for (const c of project.config.queues.consumers ?? []) {
        const other = consumers.get(c.queue);
        if (other) throw new Error(`${at}.worker: queue "${c.queue}" is also consumed by ${other}: a queue has one consumer Worker, so consume it from one version`);
        consumers.set(c.queue, `${s.name}/${v.name}`);
      }
      const build = { kind: "wrangler" as const, projectDir: project.dir, userConfigPath: source.configPath };
      if (v.deployed !== undefined) {
        // Brownfield: the team's own config, as their pipeline deploys it; the mesh adds nothing.
        workers.push({ ...app, build, config: { ...kept, name, main: kept.main as string } });
        return;
      }
      const secrets = project.config.secrets?.required ?? [];
      if (secrets.length) notes.push(`${s.name}/${v.name} needs its secrets on its own Worker: ${secrets.map((k) => `npx wrangler secret put ${k} --name ${name}`).join("; ")}`);
      const bindings = appBindings(project);
      for (const [owned, what] of meshOwnedNames(s, v.name))
        if (bindings.has(owned)) throw new Error(`${at}.worker: ${bindings.get(owned)} binding "${owned}" in ${source.configPath} collides with the mesh's ${what.what}: rename it in the app`);
      workers.push({
        ...app,
        build,
        config: {
          ...kept,
          name,
          main: kept.main as string,
          compatibility_date: project.raw.compatibility_date ?? manifest.compatibilityDate,
          workers_dev: false,
          preview_urls: false,
          vars: { ...(project.raw.vars ?? {}), ...v.vars, SERVICE: s.name, VERSION: v.name },
          services: [...(project.raw.services ?? []), ...meshServices],
        },
      });
    });
  });

  const written = workers.map((w) => {
    const dir = join(out, w.config.name);
    mkdirSync(dir, { recursive: true });
    const configPath = join(dir, "wrangler.json");
    const main = w.build.kind === "esbuild" ? relative(dir, w.build.entry) : w.config.main;
    const config: WranglerConfig = { $schema: relative(dir, join(REPO_ROOT, "node_modules/wrangler/config-schema.json")), ...w.config, main };
    writeFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
    return { ...w, config, configPath };
  });
  // wrangler reads every generated file back: what it would reject fails here, with its message.
  if (opts.validate !== false) for (const w of written) readApp(w.configPath);
  return { manifest, manifestPath, workers: written, defaults, notes };
}

/** Deploy order: the egress edge (apps bind it), apps, edges, the gateway, then the control plane (bindings must exist). */
export const deployOrder = (workers: GeneratedWorker[]) =>
  [...workers].sort((a, b) => ORDER[a.role] - ORDER[b.role]);
const ORDER = { egress: 0, app: 1, edge: 2, gateway: 3, control: 4 } as const;

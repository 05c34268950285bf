import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseManifest } from "../../shared/manifest/parse.ts";
import type { Manifest } from "../../shared/manifest/schema.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import type { DataPlane } from "../../shared/manifest/data-plane.ts";
import {
  CONTROL,
  EDGE_CONTROL_ENTRYPOINT,
  edgeBinding,
  edgeName,
  EGRESS,
  GATEWAY,
  INLINE_CONTROL_ENTRYPOINT,
  inlineHolderBinding,
  inlineVersionBinding,
  meshWorkerName,
  serviceBinding,
  versionBinding,
  versionWorkerName,
} from "../../shared/names.ts";
import {
  callBindings,
  calledServices,
  type Manifest as ManifestType,
  type ServiceSpec,
} from "../../shared/manifest/schema.ts";
import type { ServiceExports } from "../../shared/rpc/exports.ts";
import { analyze } from "../../shared/analyze/index.ts";
import { splitDocuments, validateDocuments, type Document } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { edgesOf } from "../../shared/snapshot/scope.ts";
import { readApp } from "./app-project.ts";
import { adoptProjects } from "./adopt.ts";
import { BOOTSTRAP_MODULE, bundleEdge } from "./bundle.ts";
import { appVersion, type AppContext } from "./gen-app.ts";
import { REPO_ROOT, WORKER_ENTRY } from "./paths.ts";
import { bundleInline, INLINE_DIR } from "./gen-inline.ts";
import { checkProviders, edgeProviderBindings } from "./gen-ext-authz.ts";
import { INLINE_MODULE } from "./bundle.ts";
import type { InlineCallee } from "../../workers/inline/config.ts";
import type { GeneratedWorker, WranglerConfig } from "./wrangler-config.ts";
import type { ControlCaller } from "../../shared/control-api.ts";
import { beaconKeySet } from "../../shared/snapshot/signature.ts";

export type GenOptions = {
  outDir: string;
  /**
   * The public keys every data-plane isolate verifies beacons with (a JWKS as JSON text: the
   * current key, and the next during a rotation; scripts/lib/beacon-keys.ts). Never a private key.
   */
  beaconKeys: string;
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
  /** Overrides the manifest's `dataPlane` (services that set their own keep it): `--data-plane`. */
  dataPlane?: DataPlane;
  /** What each app version exports for Workers RPC, by service (scripts/lib/app-exports.ts); shipped in the topology. */
  exports?: Record<string, ServiceExports>;
};

/**
 * `edgeBundle`: the one bundle every edge runs (its source map beside it); `notes`: what the user should
 * know about the generated configs (fields not deployed, bindings a brownfield Worker needs).
 */
export type GeneratedMesh = {
  manifest: Manifest;
  manifestPath: string;
  workers: GeneratedWorker[];
  edgeBundle: string;
  /** The inline data plane's bundle, when a service runs inline (its apps' entry modules import it). */
  inlineBundle?: string;
  defaults: Document[];
  notes: string[];
  /** The version (`service/version`) whose own config names each Worker name: what a binding to it meant. */
  projectWorkers: Map<string, string>;
};

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
  // The apps' own service bindings to meshed Workers are mesh calls, as `calls` entries (adopt.ts).
  const adopted = adoptProjects(loadManifest(manifestPath), manifestPath);
  const manifest = adopted.manifest;
  const defaults = loadDefaults(manifest, manifestPath);
  const topology = topologyOf(manifest, opts.exports, opts.dataPlane);
  const parsedDefaults = validateDocuments(defaults).parsed;
  const { errors } = analyze(
    topology,
    parsedDefaults.map((p) => p.resource),
  );
  if (errors.length) throw new Error(errors.map((e) => `defaults: ${e.resource} ${e.path}: ${e.message}`).join("\n"));
  const stored = parsedDefaults.map((p) => ({ resource: p.resource, createdAt: 0 }));
  const beaconKeys = JSON.stringify(beaconKeySet(opts.beaconKeys)); // refuses a private key, or none
  const out = resolve(opts.outDir);
  const workerName = (short: string) => meshWorkerName(manifest.name, short);
  const kv = [{ binding: "SNAPSHOTS", id: opts.kvId ?? "isomesh-snapshots" }];
  // Inline services (data-plane.ts): no edge Worker; their stages run in their apps and their callers.
  const inline = new Map<string, InlineCallee>();
  for (const s of topology.services)
    if (s.dataPlane === "inline")
      inline.set(s.name, {
        service: s.name,
        edge: edgeName(s.name),
        versions: s.versions,
        bootstrap: JSON.stringify(compileSnapshot(topology, edgeName(s.name), stored, 0)),
      });
  checkInline(manifest, inline, manifestPath);
  checkProviders(manifest, inline, manifestPath);
  const inlineBundle = inline.size ? bundleInline(join(out, INLINE_DIR)) : undefined;
  const base = {
    compatibility_date: manifest.compatibilityDate,
    compatibility_flags: ["nodejs_compat"],
    observability: { enabled: true },
  };
  // Edges learn that their caller gave up through request.signal, which only this flag turns on (see workers/dataplane/stages/telemetry.ts).
  const edgeBase = { ...base, compatibility_flags: [...base.compatibility_flags, "enable_request_signal"] };
  // The props name the edge: the control plane takes what an edge reports (and may read) from them.
  const control = (edge: string) => ({
    binding: "CONTROL",
    service: workerName(CONTROL),
    entrypoint: "MeshControl",
    props: { edge } satisfies ControlCaller,
  });
  const rateLimiter = {
    bindings: [{ name: "RATE_LIMITER", class_name: "RateLimiter", script_name: workerName(CONTROL) }],
  };
  const workers: Omit<GeneratedWorker, "configPath">[] = [];
  const notes: string[] = [...adopted.notes];
  const esbuild = (entry: string) => ({ kind: "esbuild" as const, entry });

  const edgeVars = (edge: string) => ({
    EDGE_NAME: edge,
    MESH_NAME: manifest.name,
    BEACON_KEYS: beaconKeys,
    REFRESH_INTERVAL_MS: String(opts.refreshIntervalMs ?? 1000),
    ...(opts.accessLog ? { ACCESS_LOG: opts.accessLog } : {}),
    ...(opts.traceSampling !== undefined ? { TRACE_SAMPLING: String(opts.traceSampling) } : {}),
  });
  // Every edge (gateway, service edges, egress) runs the one edge bundle, built once into the output
  // folder and uploaded as is (no_bundle). What differs per edge is its bootstrap snapshot: a text
  // module in its own folder (base_dir), since vars are limited to 5 KB in production.
  const edgeBundle = bundleEdge(join(out, EDGE_BUNDLE_DIR)).entry;
  const edge = (name: string) => ({
    build: {
      kind: "edge" as const,
      bundle: edgeBundle,
      bootstrap: JSON.stringify(compileSnapshot(topology, name, stored, 0)),
      // The gateway runs the outbound half of every inline service (it calls their versions directly).
      inline: JSON.stringify(name === GATEWAY ? [...inline.values()] : []),
    },
    upload: {
      main: edgeBundle,
      base_dir: ".",
      no_bundle: true,
      rules: [{ type: "Text" as const, globs: [BOOTSTRAP_MODULE, INLINE_MODULE], fallthrough: false }],
      upload_source_maps: true,
    },
  });
  // Which Workers hold an inline service's snapshot: its versions, its callers' versions, the gateway.
  const holders = new Map<string, Set<string>>();
  const hold = (service: string, binding: string) =>
    (holders.get(edgeName(service)) ?? holders.set(edgeName(service), new Set()).get(edgeName(service))!).add(binding);
  // A version is wrapped when its service is inline or it calls one (its own calls: adopted bindings are per version).
  const inlineCallees = (s: ServiceSpec, version: string) =>
    [...new Set(callBindings(s, version).map((c) => c.service))].filter((c) => inline.has(c));
  const appHolders: { binding: string; worker: string }[] = [];
  for (const s of manifest.services)
    for (const v of s.versions) {
      const callees = inlineCallees(s, v.name);
      if (!inline.has(s.name) && callees.length === 0) continue;
      const worker = workerName(versionWorkerName(s.name, v.name));
      const binding = inlineHolderBinding(versionWorkerName(s.name, v.name));
      appHolders.push({ binding, worker });
      if (inline.has(s.name)) hold(s.name, binding);
      for (const c of callees) hold(c, binding);
    }
  for (const service of inline.keys()) hold(service, edgeBinding(GATEWAY));

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
        ...(holders.size
          ? { INLINE_HOLDERS: JSON.stringify(Object.fromEntries([...holders].map(([e, b]) => [e, [...b]]))) }
          : {}),
      },
      // Production: the control plane applies the manifest's defaults itself on first start
      // (workers/control/config-store/manifest-defaults.ts); `isomesh dev` applies them over the API.
      ...((opts.target ?? "deploy") === "deploy" && defaults.length
        ? { define: { __ISOMESH_DEFAULTS__: JSON.stringify(JSON.stringify(defaults)) } }
        : {}),
      kv_namespaces: kv,
      durable_objects: {
        bindings: [
          { name: "CONFIG_STORE", class_name: "ConfigStore" },
          { name: "TELEMETRY", class_name: "Telemetry" },
          { name: "EXPLAIN", class_name: "ExplainStore" },
          { name: "RATE_LIMITER", class_name: "RateLimiter" },
          { name: "COLLECTORS", class_name: "TelemetryCollector" },
        ],
      },
      migrations: [
        { tag: "v1", new_sqlite_classes: ["ConfigStore", "Telemetry", "ExplainStore", "RateLimiter"] },
        { tag: "v2", new_sqlite_classes: ["TelemetryCollector"] },
      ],
      // The edge's default entrypoint belongs to the apps' RPC methods: the nudge goes to a named one.
      services: [
        ...edgesOf(topology)
          .filter((e) => ![...inline.values()].some((c) => c.edge === e))
          .map((e) => ({
            binding: edgeBinding(e),
            service: workerName(e),
            entrypoint: EDGE_CONTROL_ENTRYPOINT,
            props: { caller: CONTROL },
          })),
        // Inline stages run in apps: the control plane nudges the Workers that hold their snapshots.
        ...appHolders.map((h) => ({
          binding: h.binding,
          service: h.worker,
          entrypoint: INLINE_CONTROL_ENTRYPOINT,
          props: { caller: CONTROL },
        })),
      ],
    },
  });
  const gateway = edge(GATEWAY);
  workers.push({
    role: "gateway",
    name: GATEWAY,
    build: gateway.build,
    config: {
      name: workerName(GATEWAY),
      ...gateway.upload,
      ...edgeBase,
      ...(manifest.gateway?.routes.length ? { routes: manifest.gateway.routes } : {}),
      ...(manifest.gateway?.workersDev !== undefined ? { workers_dev: manifest.gateway.workersDev } : {}),
      vars: edgeVars(GATEWAY),
      kv_namespaces: kv,
      durable_objects: rateLimiter,
      services: [
        control(GATEWAY),
        ...manifest.services.flatMap((s) =>
          inline.has(s.name)
            ? s.versions.map((v) => ({
                binding: inlineVersionBinding(s.name, v.name),
                service: workerName(versionWorkerName(s.name, v.name)),
                props: { caller: GATEWAY },
              }))
            : [{ binding: serviceBinding(s.name), service: workerName(edgeName(s.name)), props: { caller: GATEWAY } }],
        ),
      ],
    },
  });
  if (topology.egress) {
    const egress = edge(EGRESS);
    workers.push({
      role: "egress",
      name: EGRESS,
      build: egress.build,
      config: {
        name: workerName(EGRESS),
        ...egress.upload,
        ...edgeBase,
        workers_dev: false,
        vars: edgeVars(EGRESS),
        kv_namespaces: kv,
        durable_objects: rateLimiter,
        services: [control(EGRESS)],
        ...(manifest.egress?.mtlsCertificates.length
          ? {
              mtls_certificates: manifest.egress.mtlsCertificates.map((c) => ({
                binding: c.binding,
                certificate_id: c.certificateId,
              })),
            }
          : {}),
      },
    });
  }
  const ctx: AppContext = {
    manifest,
    manifestPath,
    out,
    base,
    workerName,
    target: opts.target ?? "deploy",
    notes,
    consumers: new Map(),
    inline,
    inlineDir: join(out, INLINE_DIR),
    refreshIntervalMs: opts.refreshIntervalMs ?? 1000,
    beaconKeys,
    kvId: kv[0].id,
    accessLog: opts.accessLog,
    traceSampling: opts.traceSampling,
    projects: adopted.projects,
    adoption: adopted.adoption,
  };
  manifest.services.forEach((s, i) => {
    const short = edgeName(s.name);
    const serviceEdge = edge(short);
    if (!inline.has(s.name))
      workers.push({
        role: "edge",
        service: s.name,
        name: short,
        build: serviceEdge.build,
        config: {
          name: workerName(short),
          ...serviceEdge.upload,
          ...edgeBase,
          workers_dev: false,
          vars: edgeVars(short),
          kv_namespaces: kv,
          durable_objects: rateLimiter,
          services: [
            control(short),
            ...versionBindings(manifest, s),
            ...edgeProviderBindings(manifest, s.name, workerName),
          ],
        },
      });
    s.versions.forEach((v, j) => {
      const app = appVersion(ctx, s, i, v, j);
      if (app) workers.push(app);
    });
  });

  const written = workers.map((w) => {
    const dir = join(out, w.config.name);
    mkdirSync(dir, { recursive: true });
    const configPath = join(dir, "wrangler.json");
    const main =
      w.build.kind === "esbuild"
        ? relative(dir, w.build.entry)
        : w.build.kind === "edge"
          ? relative(dir, w.build.bundle)
          : w.config.main;
    const config: WranglerConfig = {
      $schema: relative(dir, join(REPO_ROOT, "node_modules/wrangler/config-schema.json")),
      ...w.config,
      main,
    };
    writeFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
    if (w.build.kind === "edge") {
      writeFileSync(join(dir, BOOTSTRAP_MODULE), w.build.bootstrap);
      writeFileSync(join(dir, INLINE_MODULE), w.build.inline);
    }
    return { ...w, config, configPath };
  });
  // wrangler reads every generated file back: what it would reject fails here, with its message.
  if (opts.validate !== false) for (const w of written) readApp(w.configPath);
  return {
    manifest,
    manifestPath,
    workers: written,
    edgeBundle,
    inlineBundle,
    defaults,
    notes,
    projectWorkers: adopted.projectWorkers,
  };
}

/**
 * Inline stages run in code isomesh builds: a version your own pipeline deploys (`deployed`) can
 * neither run an inline service's inbound nor an inline callee's client.
 */
function checkInline(manifest: Manifest, inline: Map<string, unknown>, manifestPath: string) {
  manifest.services.forEach((s, i) =>
    s.versions.forEach((v, j) => {
      if (v.deployed === undefined) return;
      const callee = callBindings(s, v.name).find((c) => inline.has(c.service))?.service;
      if (inline.has(s.name) || callee)
        throw new Error(
          `${manifestPath}: services[${i}].versions[${j}].deployed: ${inline.has(s.name) ? `${s.name} runs the inline data plane` : `${s.name} calls ${callee}, which runs the inline data plane`}, whose stages isomesh builds into the app; a Worker your own pipeline deploys cannot have them: set dataPlane: edge on ${inline.has(s.name) ? s.name : callee}`,
        );
    }),
  );
}

/**
 * A service edge's bindings to its versions: each version's default entrypoint, and each named
 * entrypoint some caller binds (`calls: [{ service, entrypoint }]`), for Workers RPC to it.
 */
function versionBindings(manifest: ManifestType, s: ManifestType["services"][number]) {
  const entrypoints = new Set(
    manifest.services.flatMap((caller) =>
      callBindings(caller)
        .filter((c) => c.service === s.name && c.entrypoint)
        .map((c) => c.entrypoint!),
    ),
  );
  const bindings = s.versions.flatMap((v) => {
    const service = v.deployed ?? meshWorkerName(manifest.name, versionWorkerName(s.name, v.name));
    return [
      { binding: versionBinding(v.name), service },
      ...[...entrypoints]
        .sort()
        .map((entrypoint) => ({ binding: versionBinding(v.name, entrypoint), service, entrypoint })),
    ];
  });
  const seen = new Set<string>();
  for (const b of bindings) {
    if (seen.has(b.binding))
      throw new Error(`${s.name}'s edge would have two bindings named ${b.binding}: rename a version or an entrypoint`);
    seen.add(b.binding);
  }
  return bindings;
}
/** Where `generate` builds the edge bundle, inside its output folder (no Worker's name starts with `_`). */
export const EDGE_BUNDLE_DIR = "_edge";

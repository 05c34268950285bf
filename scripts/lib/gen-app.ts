import { dirname, join, relative, resolve } from "node:path";
import {
  callBindings,
  calledServices,
  meshOwnedNames,
  type Manifest,
  type ServiceSpec,
  type VersionSpec,
} from "../../shared/manifest/schema.ts";
import {
  CONTROL,
  edgeName,
  EGRESS,
  EGRESS_BINDING,
  INLINE_ASSETS,
  INLINE_CONTROL,
  INLINE_OUTBOUND_ENTRYPOINT,
  INLINE_PREFIX,
  INLINE_RATE_LIMITER,
  INLINE_SNAPSHOTS,
  inlineVersionBinding,
  serviceBinding,
  versionWorkerName,
} from "../../shared/names.ts";
import type { InlineCallee, InlineConfig } from "../../workers/inline/config.ts";
import type { ControlCaller } from "../../shared/control-api.ts";
import type { MeshAdoption } from "../../shared/manifest/adoption.ts";
import { writeInlineEntry } from "./gen-inline.ts";
import { inlineProviderBindings } from "./gen-ext-authz.ts";
import { appBindings, findApp, keptConfig, readApp, type AppProject, type AppSource } from "./app-project.ts";
import { WORKER_ENTRY } from "./paths.ts";
import type { GeneratedWorker } from "./wrangler-config.ts";

/** What generating one app version needs from the mesh being generated. */
export type AppContext = {
  manifest: Manifest;
  manifestPath: string;
  out: string;
  base: { compatibility_date: string; compatibility_flags: string[]; observability: { enabled: boolean } };
  workerName: (short: string) => string;
  target: "deploy" | "dev";
  /** Collected for the user (fields not deployed, bindings a brownfield Worker needs, secrets to set). */
  notes: string[];
  /** Which version consumes each queue (a queue has one consumer Worker). */
  consumers: Map<string, string>;
  /** The services that run the inline data plane, as their callers reach them. */
  inline: Map<string, InlineCallee>;
  /** Where the inline entry modules go (beside the inline bundle). */
  inlineDir: string;
  refreshIntervalMs: number;
  /** The public keys beacons are verified with (GenOptions.beaconKeys), in every inline config. */
  beaconKeys: string;
  kvId: string;
  accessLog?: string;
  traceSampling?: number;
  /** The versions' projects, read once (adopt.ts), by `service/version`. */
  projects: Map<string, AppProject>;
  /** What became of each version's own service bindings (adopted, self, outside, claimed by `calls`). */
  adoption: MeshAdoption;
};

/**
 * The mesh's part of an app version's Worker when inline stages run in it (its service is inline,
 * or it calls one that is): the config its entry module carries, and the bindings its app never
 * sees (ISOMESH_*: snapshots, control plane, rate limiter; each inline callee's versions).
 */
function inlinePart(ctx: AppContext, s: ServiceSpec, version: string) {
  const inlineCalls = callBindings(s, version).filter((c) => ctx.inline.has(c.service));
  const calls = [...new Set(inlineCalls.map((c) => c.service))];
  if (!ctx.inline.has(s.name) && calls.length === 0) return undefined;
  const self = ctx.inline.get(s.name);
  // The named entrypoints of this app that callers bind: meshed as its default export is (Workers RPC).
  const entrypoints = [
    ...new Set(
      ctx.manifest.services.flatMap((caller) =>
        callBindings(caller)
          .filter((c) => c.service === s.name && c.entrypoint)
          .map((c) => c.entrypoint!),
      ),
    ),
  ].sort();
  const config: InlineConfig = {
    mesh: ctx.manifest.name,
    service: s.name,
    ...(self ? { inbound: { edge: self.edge, bootstrap: self.bootstrap } } : {}),
    ...(entrypoints.length ? { entrypoints } : {}),
    calls: Object.fromEntries(
      inlineCalls.map((c) => [
        c.binding,
        { ...ctx.inline.get(c.service)!, ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}) },
      ]),
    ),
    refreshIntervalMs: ctx.refreshIntervalMs,
    beaconKeys: ctx.beaconKeys,
    ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}),
    ...(ctx.traceSampling !== undefined ? { traceSampling: String(ctx.traceSampling) } : {}),
  };
  const ownWorker = ctx.workerName(versionWorkerName(s.name, version));
  const services = [
    // CUSTOM policies' providers, asked by this service's inbound half.
    ...(self ? inlineProviderBindings(ctx.manifest, s.name, version, ctx.workerName) : []),
    // The props name the version: the app's own code can reach this binding, so the control plane holds it to them.
    {
      binding: INLINE_CONTROL,
      service: ctx.workerName(CONTROL),
      entrypoint: "MeshControl",
      props: { service: s.name, version } satisfies ControlCaller,
    },
    // The Worker's own env (import { env }, Durable Objects, ctx.exports) reaches each inline call
    // through a loopback to its own client (workers/inline/loopback.ts); the handler's env has the client itself.
    ...inlineCalls.map((c) => ({
      binding: c.binding,
      service: ownWorker,
      entrypoint: INLINE_OUTBOUND_ENTRYPOINT,
      props: { binding: c.binding },
    })),
    ...calls.flatMap((c) => {
      // Workers RPC to a named entrypoint of an inline callee reaches that entrypoint of the picked version.
      const named = [...new Set(inlineCalls.filter((b) => b.service === c && b.entrypoint).map((b) => b.entrypoint!))];
      return ctx.inline.get(c)!.versions.flatMap((v) => [
        {
          binding: inlineVersionBinding(c, v),
          service: ctx.workerName(versionWorkerName(c, v)),
          props: { caller: s.name, version },
        },
        ...named.sort().map((entrypoint) => ({
          binding: inlineVersionBinding(c, v, entrypoint),
          service: ctx.workerName(versionWorkerName(c, v)),
          entrypoint,
          props: { caller: s.name, version },
        })),
      ]);
    }),
  ];
  return {
    config,
    services,
    kv: [{ binding: INLINE_SNAPSHOTS, id: ctx.kvId }],
    rateLimiter: { name: INLINE_RATE_LIMITER, class_name: "RateLimiter", script_name: ctx.workerName(CONTROL) },
  };
}

const esbuild = (entry: string) => ({ kind: "esbuild" as const, entry });

/**
 * One app version's Worker: the echo backend, a bare entry file, or a Workers project whose whole
 * config is kept and to which the mesh adds only its own bindings and vars. Undefined for a
 * brownfield version outside `isomesh dev` (the team's pipeline deploys it).
 */
export function appVersion(
  ctx: AppContext,
  s: ServiceSpec,
  i: number,
  v: VersionSpec,
  j: number,
): Omit<GeneratedWorker, "configPath"> | undefined {
  const { manifest, manifestPath, out, base, workerName, notes, consumers } = ctx;
  const at = `${manifestPath}: services[${i}].versions[${j}]`;
  const part = v.deployed === undefined ? inlinePart(ctx, s, v.name) : undefined;
  const meshServices = [
    // A named entrypoint of the callee travels in the props too: the callee's edge (one bundle, one
    // default entrypoint for every caller) reads it to call that entrypoint of the picked version.
    // An inline callee is a client in this app's isolate instead (its bindings are in `part`).
    ...callBindings(s, v.name)
      .filter((c) => !part || !ctx.inline.has(c.service))
      .map((c) => ({
        binding: c.binding,
        service: workerName(edgeName(c.service)),
        props: { caller: s.name, version: v.name, ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}) },
      })),
    ...(part?.services ?? []),
    ...(s.egress
      ? [{ binding: EGRESS_BINDING, service: workerName(EGRESS), props: { caller: s.name, version: v.name } }]
      : []),
  ];
  const app = {
    role: "app" as const,
    service: s.name,
    version: v.name,
    name: versionWorkerName(s.name, v.name),
    ...(ctx.inline.has(s.name) ? { inlineInbound: true } : {}),
  };
  // An inline app's Worker: its entry is the generated module around the app's, plus the mesh's hidden bindings.
  const entryOf = (appEntry: string) => (part ? writeInlineEntry(ctx.inlineDir, appEntry, part.config) : appEntry);
  // The outbound half learns that the request its app serves was given up through request.signal (as an edge does).
  const SIGNAL = "enable_request_signal";
  const withSignal = (flags: string[] = []) => (part && !flags.includes(SIGNAL) ? [...flags, SIGNAL] : flags);
  const meshStorage = part
    ? {
        kv_namespaces: part.kv,
        durable_objects: { bindings: [part.rateLimiter] },
        compatibility_flags: withSignal(base.compatibility_flags),
      }
    : {};
  if (v.deployed !== undefined) {
    if (meshServices.length)
      notes.push(
        `${s.name}/${v.name} is the deployed Worker "${v.deployed}": for its calls to go through the mesh, its own config needs ${JSON.stringify({ services: meshServices })}`,
      );
    if (ctx.target !== "dev") return undefined;
    if (v.worker === undefined)
      throw new Error(
        `${at}: "${v.deployed}" is deployed by your own pipeline; isomesh dev runs it from its project folder: add \`worker: <its folder>\``,
      );
  }
  if (v.echo !== undefined) {
    const echo = v.echo === true ? {} : v.echo;
    const entry = entryOf(WORKER_ENTRY.echo);
    return {
      ...app,
      build: esbuild(entry),
      config: {
        name: workerName(app.name),
        main: entry,
        ...base,
        ...meshStorage,
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
    };
  }
  let source: AppSource;
  try {
    source = findApp(v.worker!, dirname(manifestPath));
  } catch (e) {
    throw new Error(`${at}.worker: ${(e as Error).message}`);
  }
  if (source.kind === "entry") {
    const entry = entryOf(source.entry);
    return {
      ...app,
      build: esbuild(entry),
      config: {
        name: workerName(app.name),
        main: entry,
        ...base,
        ...meshStorage,
        workers_dev: false,
        vars: { SERVICE: s.name, VERSION: v.name, ...v.vars },
        services: meshServices,
      },
    };
  }
  const project = ctx.projects.get(`${s.name}/${v.name}`) ?? readApp(source.configPath);
  const name = v.deployed ?? workerName(app.name);
  if (!project.config.main)
    throw new Error(
      `${at}.worker: ${source.configPath} has no \`main\` (an assets-only Worker cannot be a mesh version)`,
    );
  const { kept, dropped } = keptConfig(project, join(out, name));
  if (dropped.length)
    notes.push(
      `${s.name}/${v.name}: ${dropped.join(", ")} of ${source.configPath} ${dropped.length > 1 ? "are" : "is"} not deployed: a version is reached through its edge (the gateway's public routes are the manifest's gateway.routes)`,
    );
  for (const c of project.config.queues.consumers ?? []) {
    const other = consumers.get(c.queue);
    if (other)
      throw new Error(
        `${at}.worker: queue "${c.queue}" is also consumed by ${other}: a queue has one consumer Worker, so consume it from one version`,
      );
    consumers.set(c.queue, `${s.name}/${v.name}`);
  }
  const build = { kind: "wrangler" as const, projectDir: project.dir, userConfigPath: source.configPath };
  if (v.deployed !== undefined) {
    // Brownfield: the team's own config, as their pipeline deploys it; the mesh adds nothing.
    return { ...app, build, config: { ...kept, name, main: kept.main as string } };
  }
  const secrets = project.config.secrets?.required ?? [];
  if (secrets.length)
    notes.push(
      `${s.name}/${v.name} needs its secrets on its own Worker: ${secrets.map((k) => `npx wrangler secret put ${k} --name ${name}`).join("; ")}`,
    );
  const bindings = appBindings(project);
  // The app's own service bindings to meshed Workers are mesh calls (adopt.ts): a `calls` entry may
  // name one for the same service; its binding to its own Worker reaches the same version.
  const adoption = ctx.adoption.get(s.name)!.get(v.name)!;
  const meshed = new Set([...adoption.claimed, ...adoption.adopted.map((c) => c.binding)]);
  const self = new Set(adoption.self);
  for (const [owned, what] of meshOwnedNames(s, v.name))
    if (bindings.has(owned) && !adoption.claimed.includes(owned))
      throw new Error(
        `${at}.worker: ${bindings.get(owned)} binding "${owned}" in ${source.configPath} collides with the mesh's ${what.what}: rename it in the app`,
      );
  let main = kept.main as string;
  if (part) {
    for (const [b, kind] of bindings)
      if (b.startsWith(INLINE_PREFIX))
        throw new Error(
          `${at}.worker: ${kind} binding "${b}" in ${source.configPath}: names starting with ${INLINE_PREFIX} are the inline data plane's own: rename it in the app`,
        );
    for (const k of ["no_bundle", "find_additional_modules"] as const)
      if (project.raw[k])
        throw new Error(
          `${at}.worker: ${source.configPath} sets ${k}: the inline data plane bundles the app into its entry module, so ${s.name} needs its app bundled (or dataPlane: edge)`,
        );
    if (ctx.inline.has(s.name) && project.raw.assets?.directory) {
      // Every request reaches the wrapper, which runs the inbound half before the app's own asset
      // routing (workers/inline/assets.ts); an array of rules keeps the asset worker's reading of them.
      const own = project.raw.assets;
      part.config.assets = { binding: own.binding ?? INLINE_ASSETS, runWorkerFirst: own.run_worker_first ?? false };
      kept.assets = {
        ...(kept.assets as object),
        binding: part.config.assets.binding,
        run_worker_first: Array.isArray(own.run_worker_first) ? ["/*"] : true,
      };
    }
    const dir = join(out, name);
    main = relative(dir, entryOf(resolve(dir, main)));
  }
  return {
    ...app,
    build,
    config: {
      ...kept,
      name,
      main,
      compatibility_date: project.raw.compatibility_date ?? manifest.compatibilityDate,
      ...(part ? { compatibility_flags: withSignal(project.raw.compatibility_flags) } : {}),
      workers_dev: false,
      preview_urls: false,
      vars: { ...(project.raw.vars ?? {}), ...v.vars, SERVICE: s.name, VERSION: v.name },
      services: [
        ...(project.raw.services ?? [])
          .filter((b) => !meshed.has(b.binding))
          .map((b) => (self.has(b.binding) ? { ...b, service: name, props: { caller: s.name, version: v.name } } : b)),
        ...meshServices,
      ],
      ...(part
        ? {
            kv_namespaces: [...(project.raw.kv_namespaces ?? []), ...part.kv],
            durable_objects: {
              ...project.raw.durable_objects,
              bindings: [...(project.raw.durable_objects?.bindings ?? []), part.rateLimiter],
            },
          }
        : {}),
    },
  };
}

import { dirname, join } from "node:path";
import {
  callBindings,
  meshOwnedNames,
  type Manifest,
  type ServiceSpec,
  type VersionSpec,
} from "../../shared/manifest/schema.ts";
import { edgeName, EGRESS, EGRESS_BINDING, versionWorkerName } from "../../shared/names.ts";
import { appBindings, findApp, keptConfig, readApp, type AppSource } from "./app-project.ts";
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
};

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
  const meshServices = [
    // A named entrypoint of the callee travels in the props too: the callee's edge (one bundle, one
    // default entrypoint for every caller) reads it to call that entrypoint of the picked version.
    ...callBindings(s).map((c) => ({
      binding: c.binding,
      service: workerName(edgeName(c.service)),
      props: { caller: s.name, version: v.name, ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}) },
    })),
    ...(s.egress
      ? [{ binding: EGRESS_BINDING, service: workerName(EGRESS), props: { caller: s.name, version: v.name } }]
      : []),
  ];
  const app = { role: "app" as const, service: s.name, version: v.name, name: versionWorkerName(s.name, v.name) };
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
    return {
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
    };
  }
  let source: AppSource;
  try {
    source = findApp(v.worker!, dirname(manifestPath));
  } catch (e) {
    throw new Error(`${at}.worker: ${(e as Error).message}`);
  }
  if (source.kind === "entry") {
    return {
      ...app,
      build: esbuild(source.entry),
      config: {
        name: workerName(app.name),
        main: source.entry,
        ...base,
        workers_dev: false,
        vars: { SERVICE: s.name, VERSION: v.name, ...v.vars },
        services: meshServices,
      },
    };
  }
  const project = readApp(source.configPath);
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
  for (const [owned, what] of meshOwnedNames(s, v.name))
    if (bindings.has(owned))
      throw new Error(
        `${at}.worker: ${bindings.get(owned)} binding "${owned}" in ${source.configPath} collides with the mesh's ${what.what}: rename it in the app`,
      );
  return {
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
  };
}

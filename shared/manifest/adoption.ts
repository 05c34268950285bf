import { DEFAULT_ENTRYPOINT } from "../rpc/method.ts";
import { CONTROL, edgeName, EGRESS, GATEWAY, meshWorkerName, versionWorkerName } from "../names.ts";
import { callBindings, type CallBinding, type Manifest } from "./schema.ts";

// Adoption (DESIGN §2, "Adoption is transparent"): an app's own service binding to a Worker the
// manifest meshes is that service's mesh call, under the app's own binding name, as a `calls`
// entry would be. Like a sidecar that captures the traffic an app already sends to a Kubernetes
// Service name: the app keeps calling what it called, and the mesh is in the path.

/** A service binding as an app's own wrangler config declares it. */
export type AppServiceBinding = { binding: string; service: string; entrypoint?: string; props?: unknown };

/** What a version's own config says about itself: its Worker's name there, and its service bindings. */
export type VersionProject = { worker?: string; services: AppServiceBinding[] };

/** The projects of a manifest's versions, by `service/version` (absent: echo or a bare entry file). */
export type MeshProjects = Map<string, VersionProject>;

/**
 * How each of a version's own service bindings is kept:
 * - `adopted`: a mesh call to a service of this manifest (routed, authorized, counted);
 * - `self`: the app's binding to its own Worker (a self-reference, e.g. OpenNext's
 *   WORKER_SELF_REFERENCE): it reaches the same version, under the Worker name the mesh gives it;
 * - `outside`: a Worker this mesh does not run, kept as the app wrote it;
 * - `claimed`: a binding a `calls` entry names for the same service (the manifest's entry replaces it).
 * `props` marks an app binding that set its own props (the mesh's `{ caller }` replace them).
 */
export type Adoption = {
  adopted: (CallBinding & { props: boolean })[];
  self: string[];
  outside: { binding: string; service: string }[];
  claimed: string[];
};

/** Per service, per version: what adoption made of its app's service bindings. */
export type MeshAdoption = Map<string, Map<string, Adoption>>;

/** A Worker name that reaches no one service: the versions whose projects carry it. */
export class AmbiguousWorker extends Error {}

const key = (service: string, version: string) => `${service}/${version}`;

/**
 * Which service each Worker name reaches: a service's own name, the Worker name in a version's
 * config, a deployed (brownfield) version's name. A service's name wins over a project's.
 */
function meshedWorkers(m: Manifest, projects: MeshProjects): Map<string, string | string[]> {
  const byName = new Map<string, string | string[]>();
  const claim = (name: string, service: string) => {
    const had = byName.get(name);
    if (had === undefined || had === service) byName.set(name, service);
    else if (Array.isArray(had)) byName.set(name, had.includes(service) ? had : [...had, service]);
    else byName.set(name, [had, service]);
  };
  for (const s of m.services)
    for (const v of s.versions) {
      const worker = projects.get(key(s.name, v.name))?.worker;
      if (worker) claim(worker, s.name);
      if (v.deployed) claim(v.deployed, s.name);
    }
  for (const s of m.services) byName.set(s.name, s.name);
  return byName;
}

/**
 * The Workers `gen` makes (gateway, control plane, egress, edges, versions), by name: an app's own
 * binding to one would reach it past the mesh's stages (a version past its edge) or with props the
 * app chose (a forged caller), so it is an error, not a call.
 */
function generatedWorkers(m: Manifest): Map<string, string> {
  const names = new Map<string, string>();
  for (const w of [GATEWAY, CONTROL, EGRESS]) names.set(meshWorkerName(m.name, w), `the mesh's ${w}`);
  for (const s of m.services) {
    names.set(meshWorkerName(m.name, edgeName(s.name)), `${s.name}'s edge`);
    for (const v of s.versions)
      names.set(meshWorkerName(m.name, versionWorkerName(s.name, v.name)), `${s.name}/${v.name}'s generated Worker`);
  }
  return names;
}

/**
 * Resolves every version's own service bindings against the manifest. A binding to its own
 * Worker is a self-reference; one to a Worker the mesh runs is that service's call, entrypoint
 * and all; a Worker name two services' projects share is an error that names them.
 */
export function adoptBindings(m: Manifest, projects: MeshProjects, file = "mesh.yaml"): MeshAdoption {
  const workers = meshedWorkers(m, projects);
  const generated = generatedWorkers(m);
  const out: MeshAdoption = new Map();
  m.services.forEach((s, i) => {
    const perVersion = new Map<string, Adoption>();
    out.set(s.name, perVersion);
    const calls = new Map(callBindings(s).map((c, index) => [c.binding, { ...c, index }]));
    s.versions.forEach((v, j) => {
      const project = projects.get(key(s.name, v.name));
      const result: Adoption = { adopted: [], self: [], outside: [], claimed: [] };
      perVersion.set(v.name, result);
      const at = `${file}: services[${i}].versions[${j}]: ${s.name}/${v.name}'s binding`;
      for (const b of project?.services ?? []) {
        const call = calls.get(b.binding);
        if (call) {
          const reaches = workers.get(b.service);
          if (reaches !== call.service && !(Array.isArray(reaches) && reaches.includes(call.service)))
            throw new Error(
              `${at} ${b.binding} names the Worker "${b.service}", but calls[${call.index}] gives that binding to ${call.service}: rename one of them`,
            );
          result.claimed.push(b.binding);
          continue;
        }
        const own = meshWorkerName(m.name, versionWorkerName(s.name, v.name));
        if (
          b.service === project?.worker ||
          b.service === own ||
          (v.deployed !== undefined && b.service === v.deployed)
        ) {
          result.self.push(b.binding);
          continue;
        }
        const mesh = generated.get(b.service);
        if (mesh && !workers.has(b.service))
          throw new Error(
            `${at} ${b.binding} names "${b.service}", ${mesh}: the mesh's own Workers are reached only through the mesh; bind the Worker of the service you call (its project's name, or the service's name)`,
          );
        const target = workers.get(b.service);
        if (target === undefined) {
          result.outside.push({ binding: b.binding, service: b.service });
          continue;
        }
        if (Array.isArray(target))
          throw new AmbiguousWorker(
            `${at} ${b.binding} names the Worker "${b.service}", which is the project of ${target.join(" and ")}: give it \`calls: [{ service: <one of them>, binding: ${b.binding} }]\``,
          );
        const entrypoint = b.entrypoint === DEFAULT_ENTRYPOINT ? undefined : b.entrypoint;
        result.adopted.push({
          service: target,
          ...(entrypoint ? { entrypoint } : {}),
          binding: b.binding,
          props: b.props !== undefined,
        });
      }
    });
  });
  return out;
}

import { dirname } from "node:path";
import {
  adoptBindings,
  type AppServiceBinding,
  type MeshAdoption,
  type MeshProjects,
} from "../../shared/manifest/adoption.ts";
import type { AdoptedCalls, Manifest, ServiceSpec, VersionSpec } from "../../shared/manifest/schema.ts";
import { findApp, readApp, type AppProject } from "./app-project.ts";

/** A manifest whose services carry the calls their apps already make (adoption), and the projects read for it. */
export type AdoptedMesh = {
  manifest: Manifest;
  adoption: MeshAdoption;
  /** Each version's Workers project, read once, by `service/version` (absent: echo or a bare entry file). */
  projects: Map<string, AppProject>;
  /** The version (`service/version`) whose own config names each Worker name (for `isomesh dev`'s errors). */
  projectWorkers: Map<string, string>;
  notes: string[];
};

/** Where a version's `worker:` points, read with wrangler; errors name the manifest field. */
function projectOf(
  v: VersionSpec,
  manifestPath: string,
  at: string,
  read: Map<string, AppProject>,
): AppProject | undefined {
  if (v.worker === undefined) return undefined;
  let source: ReturnType<typeof findApp>;
  try {
    source = findApp(v.worker, dirname(manifestPath));
  } catch (e) {
    // A deployed (brownfield) version needs its folder only under isomesh dev, which says so itself.
    if (v.deployed !== undefined) return undefined;
    throw new Error(`${at}.worker: ${(e as Error).message}`);
  }
  if (source.kind !== "project") return undefined;
  const project = read.get(source.configPath) ?? readApp(source.configPath);
  read.set(source.configPath, project);
  return project;
}

/**
 * Reads every version's project and adopts its own service bindings to meshed Workers as mesh
 * calls (shared/manifest/adoption.ts); what stays outside the mesh is said in one note.
 */
export function adoptProjects(manifest: Manifest, manifestPath: string): AdoptedMesh {
  const projects = new Map<string, AppProject>();
  const read = new Map<string, AppProject>(); // versions that name one project read it once
  const seen: MeshProjects = new Map();
  manifest.services.forEach((s, i) =>
    s.versions.forEach((v, j) => {
      const project = projectOf(v, manifestPath, `${manifestPath}: services[${i}].versions[${j}]`, read);
      if (!project) return;
      projects.set(`${s.name}/${v.name}`, project);
      seen.set(`${s.name}/${v.name}`, {
        worker: project.config.name,
        services: (project.raw.services ?? []) as AppServiceBinding[],
      });
    }),
  );
  const adoption = adoptBindings(manifest, seen, manifestPath);
  const services: ServiceSpec[] = manifest.services.map((s) => {
    const adopted: AdoptedCalls = {};
    for (const [version, a] of adoption.get(s.name)!)
      if (a.adopted.length) adopted[version] = a.adopted.map(({ props: _, ...call }) => call);
    return Object.keys(adopted).length ? { ...s, adopted } : s;
  });
  const notes: string[] = [];
  const outside: string[] = [];
  const replaced: string[] = [];
  for (const [service, versions] of adoption)
    for (const [version, a] of versions) {
      for (const o of a.outside) outside.push(`${service}/${version} ${o.binding} → ${o.service}`);
      for (const c of a.adopted) if (c.props) replaced.push(`${service}/${version} ${c.binding}`);
    }
  if (outside.length)
    notes.push(`service bindings to Workers outside the mesh, kept as written (not meshed): ${outside.join(", ")}`);
  if (replaced.length)
    notes.push(
      `the mesh sets the props of adopted bindings (its caller identity), replacing the app's own: ${replaced.join(", ")}`,
    );
  const projectWorkers = new Map<string, string>();
  for (const s of manifest.services)
    for (const v of s.versions) {
      const name = seen.get(`${s.name}/${v.name}`)?.worker;
      if (name) projectWorkers.set(name, `${s.name}/${v.name}`);
      if (v.deployed) projectWorkers.set(v.deployed, `${s.name}/${v.name}`);
    }
  return { manifest: { ...manifest, services }, adoption, projects, projectWorkers, notes };
}

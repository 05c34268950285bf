import { PLUGINS } from "miniflare";

// Why this exists: Miniflare 4's assets plugin reads every Worker's static files through one disk
// service named `assets:storage`, and the first Worker's folder wins (services are deduplicated by
// name; workers-sdk packages/miniflare/src/plugins/assets/index.ts, unchanged upstream as of
// 2026-08). Each Worker keeps its own asset manifest, so two Workers with assets in one workerd (two
// services of a mesh, two versions of one) served each other's files. Miniflare has no option for
// it, so each Worker's storage service is given its own name here, after the plugin built it. The
// shape is checked: a Miniflare that builds it differently fails the start instead of mixing files.

const STORAGE = "assets:storage";
type Service = { name?: string; worker?: { bindings?: { service?: { name?: string } }[] } };
type GetServices = (args: { options: { assets?: { workerName?: string } } }) => Promise<unknown>;

let installed = false;

/** Gives every Worker with assets its own storage service (once per process; Miniflare reads its plugins at each start). */
export function assetsPerWorker(): void {
  if (installed) return;
  installed = true;
  const plugin = PLUGINS.assets as unknown as { getServices: GetServices };
  const original = plugin.getServices.bind(plugin);
  plugin.getServices = async (args) => {
    const result = await original(args);
    const id = args.options.assets?.workerName;
    if (!Array.isArray(result) || id === undefined) return result;
    const own = `${STORAGE}:${id}`;
    let storages = 0;
    let readers = 0;
    for (const service of result as Service[]) {
      if (service.name === STORAGE) {
        service.name = own;
        storages++;
      }
      for (const b of service.worker?.bindings ?? [])
        if (b.service?.name === STORAGE) {
          b.service.name = own;
          readers++;
        }
    }
    if (storages !== 1 || readers === 0)
      throw new Error(
        `isomesh dev: Miniflare's assets plugin no longer builds one "${STORAGE}" service per Worker (found ${storages}, read by ${readers}): scripts/lib/assets-per-worker.ts needs updating`,
      );
    return result;
  };
}

import type { GeneratedWorker, WranglerConfig } from "./wrangler-config.ts";

/**
 * One `wrangler deploy` of a deploy: a worker, or (`without` set) a first version of it lacking the
 * bindings to mesh workers that do not exist yet, deployed again in full later in the plan.
 */
export type DeployStep = { worker: GeneratedWorker; without?: string[] };

/** The Workers a config binds by name (service bindings, other scripts' Durable Objects, tail consumers). */
export function boundScripts(config: WranglerConfig): string[] {
  const names = [
    ...(config.services ?? []).map((s) => s.service),
    ...(config.durable_objects?.bindings ?? []).map((d) => d.script_name),
    ...(config.tail_consumers ?? []).map((t) => t.service),
  ];
  return [...new Set(names.filter((n): n is string => !!n && n !== config.name))];
}

/** The config without its bindings to these Workers. */
export function withoutBindingsTo(config: WranglerConfig, scripts: string[]): WranglerConfig {
  const out = new Set(scripts);
  return {
    ...config,
    ...(config.services ? { services: config.services.filter((s) => !out.has(s.service)) } : {}),
    ...(config.durable_objects
      ? {
          durable_objects: {
            ...config.durable_objects,
            bindings: config.durable_objects.bindings.filter((d) => !d.script_name || !out.has(d.script_name)),
          },
        }
      : {}),
    ...(config.tail_consumers ? { tail_consumers: config.tail_consumers.filter((t) => !out.has(t.service)) } : {}),
  };
}

// Preferred order where the bindings leave a choice (and which worker a cycle is broken at first).
const ROLE_ORDER = { control: 0, egress: 1, app: 2, edge: 3, gateway: 4 } as const;

/**
 * The order `isomesh deploy` uploads the mesh in. Cloudflare refuses a Worker that binds a Worker
 * not yet on the account (code 10143), so each worker goes after every mesh worker it binds; bindings
 * to Workers outside the mesh (a brownfield version, the app's own services) are the user's to have
 * deployed. The mesh has cycles (the control plane and the edges bind each other; two services that
 * call each other): a cycle is broken by deploying one of its workers first without the bindings
 * that cannot resolve yet, and again in full once they can. On a redeploy every target exists and the
 * extra step is only a brief older config.
 */
export function deployPlan(workers: GeneratedWorker[]): DeployStep[] {
  const ours = new Set(workers.map((w) => w.config.name));
  const deps = new Map(workers.map((w) => [w, boundScripts(w.config).filter((n) => ours.has(n))]));
  const remaining = [...workers].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]);
  const byName = new Map(workers.map((w) => [w.config.name, w]));
  const exists = new Set<string>();
  const steps: DeployStep[] = [];
  const stubbed: GeneratedWorker[] = [];
  while (remaining.length) {
    const ready = remaining.findIndex((w) => deps.get(w)!.every((d) => exists.has(d)));
    if (ready >= 0) {
      const [w] = remaining.splice(ready, 1);
      steps.push({ worker: w });
      exists.add(w.config.name);
      continue;
    }
    // Every remaining worker waits on another: break a cycle at its first worker by role order.
    const [w] = remaining.splice(
      remaining.findIndex((x) => reaches(x, x, deps, byName, exists)),
      1,
    );
    steps.push({ worker: w, without: deps.get(w)!.filter((d) => !exists.has(d)) });
    exists.add(w.config.name);
    stubbed.push(w);
  }
  for (const w of stubbed) steps.push({ worker: w });
  return steps;
}

/** Whether `target` is reachable from `from` through bindings to workers not yet deployed. */
function reaches(
  from: GeneratedWorker,
  target: GeneratedWorker,
  deps: Map<GeneratedWorker, string[]>,
  byName: Map<string, GeneratedWorker>,
  exists: Set<string>,
  seen = new Set<GeneratedWorker>(),
): boolean {
  for (const name of deps.get(from)!) {
    if (exists.has(name)) continue;
    const next = byName.get(name)!;
    if (next === target) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    if (reaches(next, target, deps, byName, exists, seen)) return true;
  }
  return false;
}

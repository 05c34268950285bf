import { z } from "zod";
import { DEFAULT_ENTRYPOINT, IDENTIFIER, MAX_METHOD_NAME } from "./method.ts";

// What a version's Worker exports for Workers RPC, read from its build when the mesh is generated
// (scripts/lib/app-exports.ts runs the built module in workerd and lists each WorkerEntrypoint
// class's methods) and shipped in the topology. The edge forwards any method whatever this says
// (it is one bundle for every service); the list lets the control plane warn about a policy that
// names a method nobody exports, and bounds the method label of metrics to names that exist
// (the snapshot's rpcMethods).

const MethodName = z.string().regex(IDENTIFIER).max(MAX_METHOD_NAME);

/** One version: its entrypoints (`default` and each named WorkerEntrypoint export) and their methods and getters. */
export const VersionExports = z.record(
  z.string().regex(IDENTIFIER).max(MAX_METHOD_NAME),
  z.array(MethodName).max(1000),
);
export type VersionExports = z.infer<typeof VersionExports>;

/** A service: its versions' exports, by version name; a version missing here is not known (e.g. a deployed Worker). */
export const ServiceExports = z.record(z.string(), VersionExports);
export type ServiceExports = z.infer<typeof ServiceExports>;

/** Whether a version exports a method: true, false, or undefined when its exports are not known. */
export function exportsMethod(
  exports: ServiceExports | undefined,
  version: string,
  entrypoint: string | undefined,
  method: string,
): boolean | undefined {
  const v = exports?.[version];
  if (!v) return undefined;
  return v[entrypoint ?? DEFAULT_ENTRYPOINT]?.includes(method) ?? false;
}

/** Every full method name (`getRating`, `Admin.reset`) some version of the service exports; undefined if any version is not known. */
export function exportedMethodNames(exports: ServiceExports | undefined, versions: string[]): Set<string> | undefined {
  if (!exports || versions.some((v) => !exports[v])) return undefined;
  const names = new Set<string>();
  for (const v of versions)
    for (const [entrypoint, methods] of Object.entries(exports[v]!))
      for (const m of methods) names.add(entrypoint === DEFAULT_ENTRYPOINT ? m : `${entrypoint}.${m}`);
  return names;
}

import { z } from "zod";
import { calledServices, type Manifest } from "./schema.ts";
import { ServiceExports } from "../rpc/exports.ts";
import { CompiledMeshConfig, compileMeshConfig } from "./mesh-config.ts";
import { type DataPlane, dataPlaneOf } from "./data-plane.ts";
import { CompiledExtAuthzProvider } from "../security/ext-authz-compiled.ts";
import { compileProvider } from "../security/ext-authz-provider.ts";

/**
 * What the control plane knows of the mesh's shape: services, their versions and who calls whom.
 * Derived from the manifest at `gen` time and handed to the control worker as a var.
 */
export const Topology = z.object({
  mesh: z.string(),
  services: z.array(
    z.object({
      name: z.string(),
      versions: z.array(z.string()),
      calls: z.array(z.string()),
      egress: z.boolean().optional(),
      /** Present when the service's stages run in its apps (data-plane.ts); absent: its edge. */
      dataPlane: z.literal("inline").optional(),
      /** What each version's Worker exports for Workers RPC, read from its build at gen time (absent: not known). */
      exports: ServiceExports.optional(),
    }),
  ),
  /** Present when the mesh has an egress edge: its client-certificate bindings. */
  egress: z.object({ certificates: z.array(z.string()) }).optional(),
  /** The manifest's meshConfig as edges run it; absent means the defaults. */
  meshConfig: z.optional(CompiledMeshConfig),
  /** The manifest's external authorization providers (CUSTOM AuthorizationPolicies name them). */
  extensionProviders: z.array(CompiledExtAuthzProvider).optional(),
});
export type Topology = z.infer<typeof Topology>;

/**
 * `exports`: per service, what each version's build exports (scripts/lib/app-exports.ts);
 * `dataPlane`: the mesh default as `isomesh dev --data-plane` overrides it.
 */
export function topologyOf(m: Manifest, exports: Record<string, ServiceExports> = {}, dataPlane?: DataPlane): Topology {
  return {
    mesh: m.name,
    services: m.services.map((s) => ({
      name: s.name,
      versions: s.versions.map((v) => v.name),
      calls: calledServices(s),
      ...(s.egress ? { egress: true } : {}),
      ...(dataPlaneOf(m, s.name, dataPlane) === "inline" ? { dataPlane: "inline" as const } : {}),
      ...(exports[s.name] && Object.keys(exports[s.name]).length ? { exports: exports[s.name] } : {}),
    })),
    ...(hasEgress(m) ? { egress: { certificates: m.egress?.mtlsCertificates.map((c) => c.binding) ?? [] } } : {}),
    meshConfig: compileMeshConfig(m.meshConfig),
    ...(m.meshConfig.extensionProviders.length
      ? { extensionProviders: m.meshConfig.extensionProviders.map(compileProvider) }
      : {}),
  };
}

/** The egress edge exists when a service may call out or client certificates are configured. */
export const hasEgress = (m: Manifest) =>
  m.services.some((s) => s.egress) || (m.egress?.mtlsCertificates.length ?? 0) > 0;

import { z } from "zod";
import type { Manifest } from "./schema.ts";
import { CompiledMeshConfig, compileMeshConfig } from "./mesh-config.ts";

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
    }),
  ),
  /** Present when the mesh has an egress edge: its client-certificate bindings. */
  egress: z.object({ certificates: z.array(z.string()) }).optional(),
  /** The manifest's meshConfig as edges run it; absent means the defaults. */
  meshConfig: z.optional(CompiledMeshConfig),
});
export type Topology = z.infer<typeof Topology>;

export function topologyOf(m: Manifest): Topology {
  return {
    mesh: m.name,
    services: m.services.map((s) => ({
      name: s.name,
      versions: s.versions.map((v) => v.name),
      calls: s.calls,
      ...(s.egress ? { egress: true } : {}),
    })),
    ...(hasEgress(m) ? { egress: { certificates: m.egress?.mtlsCertificates.map((c) => c.binding) ?? [] } } : {}),
    meshConfig: compileMeshConfig(m.meshConfig),
  };
}

/** The egress edge exists when a service may call out or client certificates are configured. */
export const hasEgress = (m: Manifest) =>
  m.services.some((s) => s.egress) || (m.egress?.mtlsCertificates.length ?? 0) > 0;

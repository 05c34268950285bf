import { z } from "zod";

export const ResourceName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, "must be a DNS-1123 name: lower-case letters, digits, '-' and '.'");

export const Metadata = z.object({
  name: ResourceName,
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Reference from a policy to what it applies to (Istio/Gateway API `targetRefs`). */
export const TargetRef = z.object({
  group: z.string().optional(),
  kind: z.enum(["Service", "Gateway"]).default("Service"),
  name: z.string().min(1),
});
export type TargetRef = z.infer<typeof TargetRef>;

/** `envelope(apiVersion, kind, spec)`: the Kubernetes-style document around a spec. Users never send status. */
export function envelope<K extends string, S extends z.ZodType>(apiVersion: string, kind: K, spec: S) {
  return z.object({
    apiVersion: z.literal(apiVersion, { message: `apiVersion must be ${apiVersion}` }),
    kind: z.literal(kind),
    metadata: Metadata,
    spec,
  });
}

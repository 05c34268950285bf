import { z } from "zod";

export const ResourceName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, "must be a DNS-1123 name: lower-case letters, digits, '-' and '.'");

/**
 * The ObjectMeta fields users paste from kubectl: labels and annotations are kept (not interpreted);
 * a mesh is one namespace, so only `default` (kubectl's) is accepted. Server-set fields (uid,
 * resourceVersion, …) are unknown fields: optimistic concurrency is `If-Match`.
 */
export const Metadata = z.strictObject({
  name: ResourceName,
  namespace: z
    .string()
    .refine((ns) => ns === "default", {
      error: (i) =>
        `isomesh has one namespace per mesh: omit metadata.namespace or set it to "default" (got ${JSON.stringify(i.input)})`,
    })
    .optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** The API group of each kind a reference may name: Gateway API's defaults, core ("") for Service. */
export const GROUP_OF = { Service: "", Gateway: "gateway.networking.k8s.io" } as const;

/** A reference's `group`, when given, must be its kind's: isomesh serves no other API group. */
export function checkGroup(ref: { group?: string; kind: keyof typeof GROUP_OF }, ctx: z.RefinementCtx) {
  if (ref.group !== undefined && ref.group !== GROUP_OF[ref.kind])
    ctx.addIssue({
      code: "custom",
      path: ["group"],
      message: `group of a ${ref.kind} must be ${JSON.stringify(GROUP_OF[ref.kind])} (got ${JSON.stringify(ref.group)})`,
    });
}

/** Reference from a policy to what it applies to (Istio/Gateway API `targetRefs`). */
export const TargetRef = z
  .strictObject({
    group: z.string().optional(),
    kind: z.enum(["Service", "Gateway"]).default("Service"),
    name: z.string().min(1),
  })
  .superRefine(checkGroup);
export type TargetRef = z.infer<typeof TargetRef>;

/** `envelope(apiVersion, kind, spec)`: the Kubernetes-style document around a spec. Users never send status. */
export function envelope<K extends string, S extends z.ZodType>(apiVersion: string, kind: K, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(apiVersion, { message: `apiVersion must be ${apiVersion}` }),
    kind: z.literal(kind),
    metadata: Metadata,
    spec,
  });
}

import * as z from "zod/mini";

// The manifest's meshConfig as edges run it (in the topology and every snapshot). zod/mini, like the
// snapshot schema that embeds it (see shared/snapshot/schema.ts).

/** Envoy's default route timeout: a backend that never answers is given up on after 15 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export const CompiledMeshConfig = z.object({
  path: z.object({ mergeSlashes: z.boolean(), escapedSlashes: z.enum(["keep", "unescape", "reject"]) }),
  /** 0: no default timeout. */
  requestTimeoutMs: z.number().check(z.int(), z.gte(0)),
});
export type CompiledMeshConfig = z.infer<typeof CompiledMeshConfig>;

export const DEFAULT_MESH_CONFIG: CompiledMeshConfig = {
  path: { mergeSlashes: false, escapedSlashes: "keep" },
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
};

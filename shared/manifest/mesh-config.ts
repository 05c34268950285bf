import { z } from "zod";
import { Duration } from "../duration.ts";
import type { PathNormalization } from "../routing/normalize-path.ts";
import { ExtensionProviders } from "../security/ext-authz-provider.ts";

import { CompiledMeshConfig, DEFAULT_MESH_CONFIG, DEFAULT_REQUEST_TIMEOUT_MS } from "./compiled-mesh-config.ts";

export { CompiledMeshConfig, DEFAULT_MESH_CONFIG, DEFAULT_REQUEST_TIMEOUT_MS };

/**
 * Mesh-wide data-plane settings (manifest `meshConfig`), named as Istio's meshConfig and Envoy's
 * HTTP connection manager name them.
 */
export const MeshConfigSpec = z
  .strictObject({
    pathNormalization: z
      .strictObject({
        /** BASE (RFC 3986, the default); MERGE_SLASHES (also `//` → `/`); DECODE_AND_MERGE_SLASHES (also `%2F`/`%5C` → `/`). */
        normalization: z.enum(["BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"]).default("BASE"),
        /** Envoy's path_with_escaped_slashes_action; DECODE_AND_MERGE_SLASHES implies UNESCAPE_AND_FORWARD. */
        pathWithEscapedSlashesAction: z.enum(["KEEP_UNCHANGED", "UNESCAPE_AND_FORWARD", "REJECT_REQUEST"]).optional(),
      })
      .refine(
        (p) =>
          p.normalization !== "DECODE_AND_MERGE_SLASHES" ||
          p.pathWithEscapedSlashesAction === undefined ||
          p.pathWithEscapedSlashesAction === "UNESCAPE_AND_FORWARD",
        {
          message:
            "DECODE_AND_MERGE_SLASHES decodes escaped slashes: leave pathWithEscapedSlashesAction unset, or use MERGE_SLASHES with REJECT_REQUEST",
          path: ["pathWithEscapedSlashesAction"],
        },
      )
      .prefault({}),
    /** Applied to every route that sets no timeouts.request of its own ("0s" turns the default off). */
    defaultTimeouts: z.strictObject({ request: Duration.default(DEFAULT_REQUEST_TIMEOUT_MS) }).prefault({}),
    /** External authorization services CUSTOM AuthorizationPolicies name (Istio's extensionProviders; shared/security/ext-authz-provider.ts). */
    extensionProviders: ExtensionProviders,
  })
  .prefault({});
export type MeshConfigSpec = z.infer<typeof MeshConfigSpec>;

const ESCAPED = { KEEP_UNCHANGED: "keep", UNESCAPE_AND_FORWARD: "unescape", REJECT_REQUEST: "reject" } as const;

export function compileMeshConfig(spec: MeshConfigSpec): CompiledMeshConfig {
  const { normalization, pathWithEscapedSlashesAction } = spec.pathNormalization;
  const path: PathNormalization = {
    mergeSlashes: normalization !== "BASE",
    escapedSlashes:
      normalization === "DECODE_AND_MERGE_SLASHES"
        ? "unescape"
        : ESCAPED[pathWithEscapedSlashesAction ?? "KEEP_UNCHANGED"],
  };
  return { path, requestTimeoutMs: spec.defaultTimeouts.request };
}

import type { Manifest } from "../../shared/manifest/schema.ts";
import { edgeName, extAuthzBinding, inlineExtAuthzBinding } from "../../shared/names.ts";

// External authorization providers (meshConfig.extensionProviders) as bindings: a CUSTOM policy may
// be applied to any workload at runtime, and bindings are fixed at deploy, so every place that runs
// a service's inbound stages can reach every provider's edge, with props { caller } as any mesh call.
// (The gateway reaches each service's edge already; a provider's own service asks no provider.)

/** The services that serve a provider. */
const providerServices = (m: Manifest) => [
  ...new Set(m.meshConfig.extensionProviders.map((p) => p.envoyExtAuthzHttp.service)),
];

/**
 * A provider is reached at its edge from every edge and inline app: its service runs the edge data
 * plane (`dataPlane: edge` on it keeps it there when the mesh or `--data-plane` says inline).
 */
export function checkProviders(m: Manifest, inline: Map<string, unknown>, manifestPath: string): void {
  m.meshConfig.extensionProviders.forEach((p, i) => {
    if (inline.has(p.envoyExtAuthzHttp.service))
      throw new Error(
        `${manifestPath}: meshConfig.extensionProviders[${i}].envoyExtAuthzHttp.service: ${p.envoyExtAuthzHttp.service} serves the provider "${p.name}", which every edge and inline app asks at its edge: set dataPlane: edge on ${p.envoyExtAuthzHttp.service}`,
      );
  });
}

/** A service edge's bindings to the providers' edges. */
export const edgeProviderBindings = (m: Manifest, service: string, workerName: (short: string) => string) =>
  providerServices(m)
    .filter((p) => p !== service)
    .map((p) => ({ binding: extAuthzBinding(p), service: workerName(edgeName(p)), props: { caller: service } }));

/** An inline service's app version's hidden bindings to the providers' edges (its inbound half asks). */
export const inlineProviderBindings = (
  m: Manifest,
  service: string,
  version: string,
  workerName: (short: string) => string,
) =>
  providerServices(m)
    .filter((p) => p !== service)
    .map((p) => ({
      binding: inlineExtAuthzBinding(p),
      service: workerName(edgeName(p)),
      props: { caller: service, version },
    }));

import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { type EdgeEnv, isFetcher } from "../dataplane/env.ts";
import type { Target } from "../dataplane/upstream.ts";

/**
 * The egress edge calls the outside world: through the ExternalService's client-certificate
 * binding (wrangler `mtls_certificates`) when it names one, else the global fetch.
 */
export function externalTarget(env: EdgeEnv, snapshot: Snapshot, backend: CompiledBackend): Target {
  const external = snapshot.externals?.find((e) => e.name === backend.service);
  const certificate = external?.clientCertificate;
  const binding = certificate ? env[certificate] : undefined;
  const missing = `no mtls_certificates binding ${certificate} on edge ${snapshot.edge}`;
  return {
    fetch: (input, init) =>
      certificate
        ? isFetcher(binding)
          ? binding.fetch(input, init)
          : Promise.reject(new Error(missing))
        : fetch(input, init),
    stub: () => undefined,
  };
}

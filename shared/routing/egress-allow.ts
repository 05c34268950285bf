import type { CompiledExternal } from "../snapshot/schema.ts";

const DEFAULT_PORT: Record<string, number> = { "http:": 80, "https:": 443 };
const PROTOCOL: Record<string, string> = { "http:": "HTTP", "https:": "HTTPS" };

export type EgressVerdict =
  { ok: true; external: CompiledExternal } | { ok: false; reason: string; external?: CompiledExternal };

/**
 * The egress allow-list, shared by the egress edge and synthetic explain: whether a call out to
 * `url` may go, given the ExternalService its host matched (if any), and if not, why.
 */
export function egressVerdict(external: CompiledExternal | undefined, url: URL, host: string): EgressVerdict {
  if (!external) return { ok: false, reason: `no ExternalService declares host ${host}` };
  const protocol = PROTOCOL[url.protocol];
  const port = url.port ? Number(url.port) : DEFAULT_PORT[url.protocol];
  if (external.ports.some((p) => p.number === port && p.protocol === protocol)) return { ok: true, external };
  const declared = external.ports.map((p) => `${p.number}/${p.protocol}`).join(", ");
  return {
    ok: false,
    external,
    reason: `ExternalService/${external.name} does not declare ${protocol ?? url.protocol} on port ${port} (declared: ${declared})`,
  };
}

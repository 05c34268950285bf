import type { CompiledExternal } from "../snapshot/schema.ts";

const DEFAULT_PORT: Record<string, number> = { "http:": 80, "https:": 443 };
const PROTOCOL: Record<string, string> = { "http:": "HTTP", "https:": "HTTPS" };

/** Why an ExternalService does not allow this URL's port and scheme, or undefined when it does. */
export function externalPortDenial(external: CompiledExternal, url: URL): string | undefined {
  const protocol = PROTOCOL[url.protocol];
  const port = url.port ? Number(url.port) : DEFAULT_PORT[url.protocol];
  if (external.ports.some((p) => p.number === port && p.protocol === protocol)) return undefined;
  const declared = external.ports.map((p) => `${p.number}/${p.protocol}`).join(", ");
  return `ExternalService/${external.name} does not declare ${protocol ?? url.protocol} on port ${port} (declared: ${declared})`;
}

import * as z from "zod/mini";
import type { ExternalService } from "../resources/external-service.ts";
import { compileRetry } from "../resilience/retry.ts";
import type { RouteTable, Routing } from "./match.ts";
import type { RequestFacts } from "./request-facts.ts";
import type { CompiledRoute, TimeoutCompiler, VirtualHost } from "./routes.ts";

const DEFAULT_PORT: Record<string, number> = { "http:": 80, "https:": 443 };
const PROTOCOL: Record<string, string> = { "http:": "HTTP", "https:": "HTTPS" };

/** An ExternalService as the egress edge needs it: which ports and schemes, which client certificate. */
export const CompiledExternal = z.object({
  name: z.string(),
  hosts: z.array(z.string()),
  ports: z.array(z.object({ number: z.number().check(z.int()), protocol: z.enum(["HTTP", "HTTPS"]) })),
  /** Binding of a wrangler `mtls_certificates` entry to send through instead of the global fetch. */
  clientCertificate: z.optional(z.string()),
});
export type CompiledExternal = z.infer<typeof CompiledExternal>;

/** An app's global fetch() captured by `isomesh dev` (it would bypass the mesh in production). */
export const EGRESS_FLAGS = {
  global_fetch: "an app's global fetch(), captured by the egress edge",
  global_fetch_undeclared: "the same, from a service that does not declare egress",
} as const;

export const compileExternals = (externals: ExternalService[]): CompiledExternal[] =>
  externals.map((e) => ({
    name: e.metadata.name,
    hosts: e.spec.hosts,
    ports: e.spec.ports.map((p) => ({ number: p.number, protocol: p.protocol })),
    clientCertificate: e.spec.tls?.clientCertificate,
  }));

/**
 * The egress edge's virtual hosts: each declared host routes everything to its ExternalService,
 * with that service's timeouts and retries. A host declared twice belongs to the oldest declaration.
 */
export function compileExternalHosts(externals: ExternalService[], compileTimeouts: TimeoutCompiler): VirtualHost[] {
  const byHost = new Map<string, CompiledRoute>();
  for (const e of externals) {
    const route: CompiledRoute = {
      route: e.metadata.name,
      rule: 0,
      match: 0,
      path: { type: "PathPrefix", value: "/" },
      headers: [],
      queryParams: [],
      filters: [],
      backends: [{ service: e.metadata.name, weight: 1 }],
      timeouts: compileTimeouts(e.spec.timeouts),
      retry: compileRetry(e.spec.retry),
    };
    for (const host of e.spec.hosts) if (!byHost.has(host)) byHost.set(host, route);
  }
  return [...byHost.entries()]
    .map(([host, route]) => ({ hostnames: [host], routes: [route] }))
    .sort((a, b) => a.hostnames[0].localeCompare(b.hostnames[0]));
}

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

/** `routing`: the route to the ExternalService that declares the host, even when its ports refuse the call (telemetry names it). */
export type EgressDecision =
  | { ok: true; external: CompiledExternal; routing: Routing }
  | { ok: false; reason: string; external?: CompiledExternal; routing?: Routing };

/** The egress edge's routing: the ExternalService that declares the host (its route in `table`), and whether the allow-list lets the call go. */
export function decideEgress(
  table: RouteTable,
  externals: ReadonlyMap<string, CompiledExternal>,
  url: URL,
  facts: RequestFacts,
): EgressDecision {
  const matched = table.match(facts);
  const external = matched && externals.get(matched.route);
  if (!matched || !external) return { ok: false, reason: `no ExternalService declares host ${facts.host}` };
  const verdict = egressVerdict(external, url, facts.host);
  return { ...verdict, routing: matched.routing };
}

/** The decision record of a call out the allow-list lets through, the same at the edge and in a synthetic explanation. */
export const describeAllowed = (url: URL, external: CompiledExternal) => ({
  stage: "egress",
  decision: `${url.host} allowed by ExternalService/${external.name}`,
  externalService: external.name,
  clientCertificate: external.clientCertificate,
});

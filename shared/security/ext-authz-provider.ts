import { z } from "zod";
import { Duration } from "../duration.ts";
import { CompiledExtAuthzProvider, MAX_CHECK_BODY_BYTES } from "./ext-authz-compiled.ts";

// Istio's meshConfig.extensionProviders[].envoyExtAuthzHttp, declared in the manifest's meshConfig
// (deploy time: the provider's service is reached through a binding `isomesh gen` writes).

/** Istio's header patterns: exact, `prefix*` or `*suffix` (no bare `*`: Istio has no presence match here). */
const HeaderPattern = z
  .string()
  .regex(
    /^(?:\*[!#$%&'+.^_`|~0-9A-Za-z-]+|[!#$%&'+.^_`|~0-9A-Za-z-]+\*?)$/,
    "a header name, `prefix*` or `*suffix` (Istio's header patterns)",
  )
  .transform((p) => p.toLowerCase());
const HeaderPatterns = z.array(HeaderPattern).max(64).optional();

/** How the edge asks an HTTP authorization service (Envoy's ext_authz, HTTP mode). */
export const EnvoyExtAuthzHttp = z.strictObject({
  /** The mesh service that answers the checks (its own routes and policies apply: it is an ordinary mesh call). */
  service: z.string().min(1),
  /** Prepended to the checked request's path in the check (e.g. `/check` → `/check/productpage`). */
  pathPrefix: z
    .string()
    .regex(/^\/[^?#\s]*$/, "a path starting with '/', without query or fragment")
    .max(256)
    .optional(),
  /** How long a check may take; then failOpen decides (Istio's default is 10m, longer than any Workers request: ours is 10s). */
  timeout: Duration.pipe(z.number().int().min(1, "at least 1ms").max(60_000, "at most 60s")).optional(),
  /** When the provider cannot be reached or gives no answer in time: let the request through (true) or refuse it (default). */
  failOpen: z.boolean().default(false),
  /** The status the client gets when the check failed and failOpen is false (Istio's default 403). */
  statusOnError: z.number().int().min(200).max(599).default(403),
  /** Client request headers sent in the check besides host, method and path (exact, `prefix*`, `*suffix`). */
  includeRequestHeadersInCheck: HeaderPatterns,
  /** The provider's response headers set on the upstream request when it allows (they override, and the client's copies are dropped). */
  headersToUpstreamOnAllow: HeaderPatterns,
  /** The provider's response headers the client gets when it denies (unset: all of them). */
  headersToDownstreamOnDeny: HeaderPatterns,
  /** The provider's response headers added to the client's response when it allows (e.g. set-cookie). */
  headersToDownstreamOnAllow: HeaderPatterns,
  /** Send the request body too, up to maxRequestBytes. */
  includeRequestBodyInCheck: z
    .strictObject({
      maxRequestBytes: z.number().int().min(1).max(MAX_CHECK_BODY_BYTES, `at most ${MAX_CHECK_BODY_BYTES} bytes`),
      /** A larger body: send its first maxRequestBytes (true), or answer 413 (false, Envoy's default). */
      allowPartialMessage: z.boolean().default(false),
    })
    .optional(),
});

export const ExtensionProvider = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, "lower-case letters, digits, '-' and '.' (at most 63)"),
  envoyExtAuthzHttp: EnvoyExtAuthzHttp,
});
export type ExtensionProvider = z.infer<typeof ExtensionProvider>;

export const ExtensionProviders = z.array(ExtensionProvider).max(16).default([]);

/** Istio's default check timeout is 10 minutes; a Workers request never lives that long. */
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** A provider as edges run it (in the topology and in the snapshots of the edges whose policies name it). */
export function compileProvider(p: ExtensionProvider): CompiledExtAuthzProvider {
  const h = p.envoyExtAuthzHttp;
  return {
    name: p.name,
    service: h.service,
    pathPrefix: h.pathPrefix ?? "",
    timeoutMs: h.timeout ?? DEFAULT_CHECK_TIMEOUT_MS,
    failOpen: h.failOpen,
    statusOnError: h.statusOnError,
    requestHeaders: h.includeRequestHeadersInCheck ?? [],
    upstreamOnAllow: h.headersToUpstreamOnAllow ?? [],
    // Istio: a listed denial also passes these on.
    ...(h.headersToDownstreamOnDeny
      ? { downstreamOnDeny: [...h.headersToDownstreamOnDeny, "content-length", "www-authenticate", "location"] }
      : {}),
    downstreamOnAllow: h.headersToDownstreamOnAllow ?? [],
    ...(h.includeRequestBodyInCheck
      ? {
          body: {
            maxBytes: h.includeRequestBodyInCheck.maxRequestBytes,
            partial: h.includeRequestBodyInCheck.allowPartialMessage,
          },
        }
      : {}),
  };
}

import { H } from "./headers.ts";

/** Codes users can search for; each maps to the status the mesh answers with (DESIGN §3). */
export const ERROR_STATUS = {
  authn_failed: 401,
  identity_invalid: 403,
  rbac_denied: 403,
  egress_denied: 403,
  no_route: 404,
  /** Workers RPC: the callee's entrypoint does not export the method called. */
  no_method: 404,
  rate_limited: 429,
  circuit_open: 503,
  overloaded: 503,
  upstream_timeout: 504,
  upstream_failure: 502,
  no_backend: 500,
  fault_abort: 0, // status comes from the fault
  invalid_path: 400,
  /** An inline app reached other than through a mesh binding (no props): nothing of the mesh vouches for the caller. */
  not_via_mesh: 403,
  /** A CUSTOM AuthorizationPolicy's provider denied a Workers RPC call (a fetch gets the provider's own answer). */
  ext_authz_denied: 403,
  /** A CUSTOM AuthorizationPolicy's provider gave no answer and failOpen is false (status: the provider's statusOnError). */
  ext_authz_error: 403,
  /** A body larger than the provider's includeRequestBodyInCheck.maxRequestBytes, without allowPartialMessage. */
  request_too_large: 413,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the mesh itself produces: a value with a code, the resource and rule responsible. */
export class MeshError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    readonly status: number = ERROR_STATUS[code],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(): Response {
    const body = JSON.stringify({ error: { code: this.code, ...this.detail, message: this.message } });
    return new Response(body, {
      status: this.status,
      headers: { "content-type": "application/json", [H.error]: this.code, ...this.headers },
    });
  }
}

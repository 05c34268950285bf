// Header names on the wire (DESIGN §3). Everything named x-isomesh-* is mesh-internal.
export const H = {
  requestId: "x-request-id",
  traceparent: "traceparent",
  tracestate: "tracestate",
  backend: "x-isomesh-backend",
  attempts: "x-isomesh-attempts",
  error: "x-isomesh-error",
  deadline: "x-isomesh-deadline-ms",
  caller: "x-isomesh-caller",
  principal: "x-isomesh-principal",
  claims: "x-isomesh-claims",
  debug: "x-isomesh-debug",
  explain: "x-isomesh-explain",
  /** On a RequestMirror's copy (Envoy marks its copies with a `-shadow` host instead). */
  mirror: "x-isomesh-mirror",
  /** Set by an edge whose CUSTOM policy's provider allowed the request: the provider that vouches for its headers. */
  extAuthz: "x-isomesh-ext-authz",
} as const;

export const INTERNAL_PREFIX = "x-isomesh-";

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
  configVersion: "x-isomesh-config-version",
} as const;

export const INTERNAL_PREFIX = "x-isomesh-";

/**
 * How an edge records what became of a request, the same in metrics, spans, access logs and
 * decision records.
 *
 * A request whose caller gave up before this edge answered (the caller's timeout, an aborted
 * fetch, a client that closed its connection) is recorded with response code 0 and the flag
 * `caller_cancelled`: Envoy's code 0 with response flag DC (downstream connection termination),
 * which Istio's metrics carry as `response_code="0"`. Not nginx's 499: that looks like a status
 * someone sent (and a 4xx, which "non-5xx" success queries would count as a success), while no
 * answer was sent at all; 0 can never be mistaken for one.
 */
export const CANCELLED_STATUS = 0;

/** The flags the edge's own recording adds (the stages add theirs: retried, timed_out, …). */
export const FLAG = {
  /** The caller gave up before this edge answered (Envoy's DC). */
  callerCancelled: "caller_cancelled",
  /** This request is the copy a RequestMirror filter sent (its original carries `mirrored`). */
  mirror: "mirror",
} as const;

/** Every flag a request can carry, for help texts and docs (Envoy's response flag where one exists). */
export const REQUEST_FLAGS = [
  "retried",
  "retry_budget_exhausted",
  "timed_out",
  "circuit_open",
  "overloaded",
  "rate_limited",
  "denied",
  "audited",
  "authn_failed",
  "fault_abort",
  "fault_delay",
  "mirrored",
  FLAG.mirror,
  FLAG.callerCancelled,
  "global_fetch",
  "global_fetch_undeclared",
] as const;

/**
 * Whether a request counts as a success in golden signals: an answer that is not a 5xx. A cancelled
 * request (code 0) got no answer in time, so it is not one: during a fault-injection test or an
 * incident, the service whose callers give up on it must not show 100%.
 */
export const succeeded = (code: number) => code !== CANCELLED_STATUS && code < 500;

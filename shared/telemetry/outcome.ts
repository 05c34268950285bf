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

/** The flag the edge's own recording adds (the stages declare theirs beside their decisions: shared/telemetry/flags.ts). */
export const OUTCOME_FLAGS = { caller_cancelled: "the caller gave up before this edge answered (code 0)" } as const;

/**
 * Whether a request counts as a success in golden signals: an answer that is not a 5xx. A cancelled
 * request (code 0) got no answer in time, so it is not one: during a fault-injection test or an
 * incident, the service whose callers give up on it must not show 100%.
 */
export const succeeded = (code: number) => code !== CANCELLED_STATUS && code < 500;

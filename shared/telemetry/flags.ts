import { AUTHN_FLAGS } from "../security/authn.ts";
import { AUTHZ_FLAGS } from "../security/authorize.ts";
import { EXT_AUTHZ_FLAGS } from "../security/ext-authz.ts";
import { CONCURRENCY_FLAGS } from "../resilience/concurrency.ts";
import { FAULT_FLAGS } from "../resilience/fault.ts";
import { OUTLIER_FLAGS } from "../resilience/outlier-detection.ts";
import { RETRY_FLAGS } from "../resilience/retry.ts";
import { RATE_LIMIT_FLAGS } from "../ratelimit/rate-limit.ts";
import { EGRESS_FLAGS } from "../routing/egress-allow.ts";
import { MIRROR_FLAGS } from "../routing/filters.ts";
import { NORMALIZE_FLAGS } from "../routing/normalize-path.ts";
import { OUTCOME_FLAGS } from "./outcome.ts";

/**
 * What can happen to a request, as the `flags` of its access-log line and
 * `isomesh_request_flags_total{flag}`: each concern declares its flags beside its decision (as
 * Envoy declares each filter's stats), and this is every one of them, with what it means.
 */
export const FLAGS = {
  ...OUTCOME_FLAGS,
  ...RETRY_FLAGS,
  ...OUTLIER_FLAGS,
  ...CONCURRENCY_FLAGS,
  ...RATE_LIMIT_FLAGS,
  ...AUTHZ_FLAGS,
  ...EXT_AUTHZ_FLAGS,
  ...AUTHN_FLAGS,
  ...NORMALIZE_FLAGS,
  ...FAULT_FLAGS,
  ...MIRROR_FLAGS,
  ...EGRESS_FLAGS,
} as const;

export type Flag = keyof typeof FLAGS;
export const FLAG_NAMES = Object.keys(FLAGS) as Flag[];

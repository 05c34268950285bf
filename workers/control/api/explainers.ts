import type { StageExplainer } from "../../../shared/explain/synthetic.ts";

/**
 * Stages that contribute to synthetic explanations before routing (authentication, authorization,
 * fault injection, rate limits): each a pure function of the snapshot and the request.
 */
export const STAGE_EXPLAINERS: StageExplainer[] = [];

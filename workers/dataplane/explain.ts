import { H } from "../../shared/headers.ts";
import { MAX_TOKEN_BYTES } from "../../shared/security/jwt.ts";
import { sha256Hex } from "../../shared/snapshot/hash.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { EdgeEnv } from "./env.ts";

const VERDICT_TTL_MS = 60_000;
const MAX_VERDICTS = 256;
const EXPLAIN_ENTRY = "isomesh=explain";

// Verdicts on debug tokens, keyed by the token's digest: one RPC per token per minute at most.
const verdicts = new Map<string, { ok: boolean; until: number }>();

/**
 * Whether the gateway records this request's decisions: it asks the control plane whether the
 * x-isomesh-debug token is an operator's (a wrong one is ignored silently); it then marks the trace
 * (`tracestate: isomesh=explain`) so every later hop records too, since apps forward tracestate
 * (request.ts reads the mark). Elsewhere only that mark, which only the gateway sets, asks.
 */
export function explainRequested(request: Request, snapshot: Snapshot, env: EdgeEnv): boolean | Promise<boolean> {
  if (snapshot.role !== "gateway") return false;
  const token = request.headers.get(H.debug);
  if (!token || token.length > MAX_TOKEN_BYTES) return false; // admin tokens or OIDC JWTs
  return operatorToken(token, env);
}

async function operatorToken(token: string, env: EdgeEnv): Promise<boolean> {
  const key = await sha256Hex(token);
  const now = Date.now();
  const cached = verdicts.get(key);
  if (cached && cached.until > now) return cached.ok;
  const ok = await env.CONTROL.verifyDebugToken(token).catch(() => false);
  if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
  verdicts.set(key, { ok, until: now + VERDICT_TTL_MS });
  return ok;
}

/** Whether a tracestate carries the gateway's explain mark. */
export const hasExplainEntry = (state: string | null | undefined) =>
  !!state && state.includes(EXPLAIN_ENTRY) && state.split(",").some((e) => e.trim() === EXPLAIN_ENTRY);

/** The tracestate to send on: our entry first when explaining, never a client's forged one at the gateway. */
export function withExplainEntry(state: string | undefined, on: boolean): string | undefined {
  const others = (state ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e && !e.startsWith("isomesh="));
  const entries = on ? [EXPLAIN_ENTRY, ...others] : others;
  return entries.length ? entries.slice(0, 32).join(",") : undefined;
}

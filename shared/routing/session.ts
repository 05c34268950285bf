import * as z from "zod/mini";
import type { Decision } from "../explain/record.ts";
import type { SessionPersistence } from "../resources/session-persistence.ts";
import { backendLabel, type CompiledBackend, hashUnit } from "./split.ts";

// Session persistence (Gateway API GEP-1619) as edges run it. The token names the backend the edge
// picked and when the session began and was last used: `<backend label>.<issued>.<seen>` (seconds,
// base 36). It is not signed, and need not be: it is only ever looked up among the matched rule's
// backends that may take traffic now (weight > 0, not ejected), so a forged or replayed token can
// choose nothing a client could not get by retrying until the split sends it there; a token that
// names anything else, or has expired, is ignored and replaced. Editing the times only lengthens the
// client's own session on a backend it may use anyway.

/** A rule's session persistence as its snapshot carries it (times in ms). */
export const CompiledSession = z.object({
  name: z.string(),
  header: z.boolean(),
  absoluteMs: z.optional(z.number()),
  idleMs: z.optional(z.number()),
  /** A Permanent cookie: Max-Age is absoluteMs; else a session cookie (gone when the browser closes). */
  permanent: z.boolean(),
});
export type CompiledSession = z.infer<typeof CompiledSession>;

/**
 * A rule's session persistence, compiled: its name, or one of its own (`isomesh-session-` and a hash
 * of the edge's service, the route and the rule, so rules and services never share a session).
 */
export function compileSession(
  s: SessionPersistence | undefined,
  owner: string,
  route: string,
  rule: number,
): { session?: CompiledSession } {
  if (!s) return {};
  const key = `${owner}/${route}/${rule}`;
  const name = s.sessionName ?? `isomesh-session-${Math.floor(hashUnit(key) * 0x1_0000_0000).toString(36)}`;
  return {
    session: {
      name,
      header: s.type === "Header",
      ...(s.absoluteTimeout !== undefined ? { absoluteMs: s.absoluteTimeout } : {}),
      ...(s.idleTimeout !== undefined ? { idleMs: s.idleTimeout } : {}),
      permanent: s.cookieConfig?.lifetimeType === "Permanent",
    },
  };
}

/** A token longer than this is not one the edge wrote: ignored without being parsed. */
const MAX_TOKEN = 256;

/** The session token a request carries, in its cookie or header. */
export function tokenOf(s: CompiledSession, headers: Headers): string | undefined {
  if (s.header) return headers.get(s.name) ?? undefined;
  const cookie = headers.get("cookie");
  return cookie === null ? undefined : cookieValue(cookie, s.name);
}

/**
 * The value of one cookie in a Cookie header (RFC 6265 5.4: `name=value` pairs joined by `; `).
 * Written here rather than taken from hono's parser, which would add its weight to every edge's
 * bundle (a budget every cold isolate pays) for this one lookup; the edge's tokens need no decoding.
 */
function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Seconds since the epoch in base 36, as the edge writes them. */
const TIME = /^[0-9a-z]{1,8}$/;

type Token = { label: string; issued: number; seen: number };

function decode(raw: string): Token | undefined {
  if (raw.length > MAX_TOKEN) return undefined;
  const seenAt = raw.lastIndexOf(".");
  const issuedAt = raw.lastIndexOf(".", seenAt - 1);
  if (issuedAt <= 0) return undefined;
  const [issuedText, seenText] = [raw.slice(issuedAt + 1, seenAt), raw.slice(seenAt + 1)];
  if (!TIME.test(issuedText) || !TIME.test(seenText)) return undefined;
  const [issued, seen] = [parseInt(issuedText, 36), parseInt(seenText, 36)];
  return { label: raw.slice(0, issuedAt), issued, seen };
}

const encode = (t: Token) => `${t.label}.${t.issued.toString(36)}.${t.seen.toString(36)}`;

/** What the session decided for one request: the backend it keeps (if any), the token to hand out (if any), and why. */
export type SessionOutcome = {
  kept?: CompiledBackend;
  reason: "new" | "kept" | "expired" | "idle" | "unavailable" | "invalid";
  issued: number;
};

/** The backend a request's token keeps it on, if the token is valid, unexpired, and names a backend that may take traffic now. */
export function keptBackend(
  s: CompiledSession,
  raw: string | undefined,
  backends: readonly CompiledBackend[],
  nowS: number,
): SessionOutcome {
  if (raw === undefined) return { reason: "new", issued: nowS };
  const t = decode(raw);
  if (!t || t.issued > nowS + 60 || t.seen < t.issued) return { reason: "invalid", issued: nowS };
  if (s.absoluteMs !== undefined && (nowS - t.issued) * 1000 >= s.absoluteMs)
    return { reason: "expired", issued: nowS };
  if (s.idleMs !== undefined && (nowS - t.seen) * 1000 >= s.idleMs) return { reason: "idle", issued: nowS };
  const kept = backends.find((b) => b.weight > 0 && backendLabel(b) === t.label);
  return kept ? { kept, reason: "kept", issued: t.issued } : { reason: "unavailable", issued: nowS };
}

/**
 * The response edit that hands the client its token: on a new session (or a re-balanced one), and
 * on every response when an idle timeout must learn that the session is in use. Undefined when the
 * token the client has stays good as it is.
 */
export function sessionResponse(
  s: CompiledSession,
  outcome: SessionOutcome,
  picked: CompiledBackend,
  nowS: number,
  secure: boolean,
): ((h: Headers) => void) | undefined {
  if (outcome.kept && s.idleMs === undefined) return undefined;
  const value = encode({ label: backendLabel(picked), issued: outcome.issued, seen: nowS });
  if (s.header) return (h) => h.set(s.name, value);
  let cookie = `${s.name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (s.permanent && s.absoluteMs !== undefined)
    cookie += `; Max-Age=${Math.max(1, Math.ceil(s.absoluteMs / 1000) - (nowS - outcome.issued))}`;
  if (secure) cookie += "; Secure";
  return (h) => h.append("set-cookie", cookie);
}

const WHY: Record<SessionOutcome["reason"], string> = {
  new: "started",
  kept: "kept",
  expired: "past absoluteTimeout: re-balanced",
  idle: "past idleTimeout: re-balanced",
  unavailable: "its backend takes no traffic now: re-balanced",
  invalid: "not a token of this edge: re-balanced",
};

/** What explain shows of a session's decision. */
export const describeSession = (s: CompiledSession, outcome: SessionOutcome, picked: CompiledBackend): Decision => ({
  stage: "split",
  decision: `session ${s.name} ${WHY[outcome.reason]}: ${backendLabel(picked)}`,
  session: s.name,
  outcome: outcome.reason,
});

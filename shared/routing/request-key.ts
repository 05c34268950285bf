import type { KeySource } from "../resources/key-source.ts";
import { argumentKey } from "../rpc/args.ts";

/** What a rate-limit or sticky-session key can be read from: plain facts, not a Request (RPC calls have them too). */
export type KeyFacts = {
  /** The headers the backend will receive (a claim-derived header is the mesh's, not the client's). */
  headers: Headers;
  /** Absent on a Workers RPC call, which has no host. */
  host?: string;
  caller: string;
  claims?: Record<string, unknown>;
  /** A Workers RPC call's arguments (a key may name one); absent on a fetch. */
  args?: readonly unknown[];
};

/** The value a limit or a sticky session is keyed on ("*" when it names no key); undefined when the request does not carry it. */
export function requestKey(source: KeySource | undefined, r: KeyFacts): string | undefined {
  if (!source) return "*";
  if ("header" in source) return r.headers.get(source.header) ?? undefined;
  if ("cookie" in source) return cookie(r.headers.get("cookie"), source.cookie);
  if ("claim" in source) {
    const v = r.claims?.[source.claim];
    return v === undefined ? undefined : String(v);
  }
  if ("caller" in source) return r.caller;
  if ("host" in source) return r.host;
  if ("argument" in source) return argumentKey(r.args, source.argument, source.field);
  // CF-Connecting-IP is Cloudflare's (it overwrites a client's copy); X-Forwarded-For only where it is absent (locally).
  return r.headers.get("cf-connecting-ip") ?? r.headers.get("x-forwarded-for")?.split(",")[0].trim() ?? undefined;
}

function cookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeCookie(part.slice(i + 1).trim());
  }
  return undefined;
}

/** A malformed escape (`%zz`) keeps the raw value: a client's cookie must never make the edge throw. */
function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

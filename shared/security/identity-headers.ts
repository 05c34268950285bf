import { MAX_TOKEN_BYTES, principalOf } from "./jwt.ts";

/** End-user identity as a service edge receives it from the gateway. */
export type Identity = { principal: string; claims: Record<string, unknown> };

export type DecodedIdentity = { ok: true; identity?: Identity } | { ok: false; reason: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The gateway hands a verified token's claims on as the token's own payload segment (base64url
 * JSON), byte for byte: never re-encoded, so never larger than the token the gateway accepted, and
 * nothing is ever dropped for size. Only trusted from the gateway (see workers/dataplane/request.ts).
 */
export const claimsHeaderOf = (token: string): string => token.slice(token.indexOf(".") + 1, token.lastIndexOf("."));

/**
 * Reads the identity the gateway sent. Fails closed: headers that are present but cannot be read,
 * a principal without claims (or the reverse), or a principal that is not the claims' `iss/sub`
 * are an error, never "no identity" — a policy must never judge a request as anonymous because
 * its identity did not arrive.
 */
export function decodeIdentity(principal: string | null, claimsHeader: string | null): DecodedIdentity {
  if (principal === null && claimsHeader === null) return { ok: true };
  if (claimsHeader === null) return { ok: false, reason: "a principal arrived without its claims" };
  if (claimsHeader.length > MAX_TOKEN_BYTES)
    return { ok: false, reason: `the claims header is larger than ${MAX_TOKEN_BYTES} bytes` };
  if (!BASE64URL.test(claimsHeader)) return { ok: false, reason: "the claims header is not base64url" };
  let claims: unknown;
  try {
    const bin = atob(claimsHeader.replace(/-/g, "+").replace(/_/g, "/"));
    claims = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
        Uint8Array.from(bin, (ch) => ch.charCodeAt(0)),
      ),
    );
  } catch {
    return { ok: false, reason: "the claims header is not base64url JSON" };
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims))
    return { ok: false, reason: "the claims are not a JSON object" };
  const derived = principalOf(claims as Record<string, unknown>);
  if (principal === null) return { ok: false, reason: "claims arrived without their principal" };
  if (principal !== derived) return { ok: false, reason: "the principal is not the claims' iss/sub" };
  return { ok: true, identity: { principal, claims: claims as Record<string, unknown> } };
}

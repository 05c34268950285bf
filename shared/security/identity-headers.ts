const MAX_CLAIMS_BYTES = 4096;

/** Claims travel from the gateway to service edges as base64url JSON (only trusted from the gateway). */
export function encodeClaims(claims: Record<string, unknown>): string | undefined {
  const json = JSON.stringify(claims);
  if (json.length > MAX_CLAIMS_BYTES) return undefined;
  return btoa(String.fromCharCode(...new TextEncoder().encode(json))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeClaims(text: string | null): Record<string, unknown> | undefined {
  if (!text || text.length > MAX_CLAIMS_BYTES * 2) return undefined;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const value = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

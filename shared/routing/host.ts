/**
 * The host every decision sees (routing, authorization, rate-limit keys, telemetry): lower-case,
 * without port, without trailing dots. `EXAMPLE.com.:8080` and `example.com` are one host, as they
 * are to DNS; an IPv6 literal keeps its brackets (`[::1]:8787` is `[::1]`).
 */
export function normalizeHost(raw: string): string {
  let host = raw.trim().toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  if (colon !== -1) host = host.slice(0, colon);
  return withoutTrailingDots(host);
}

/**
 * `host` without its trailing dots. By index, not by regex: `/\.+$/` retries its run of dots from
 * every dot, quadratic in a long one (a Host of 30 000 dots took 2.5 s in V8).
 */
export function withoutTrailingDots(host: string): string {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  return end === host.length ? host : host.slice(0, end);
}

/**
 * The Host header the backend receives: the same host the policy judged (lower-case, no trailing
 * dot) with the client's port kept, so absolute URLs an app builds from it still work.
 */
export function canonicalHostHeader(raw: string): string {
  const trimmed = raw.trim().toLowerCase();
  if (trimmed.startsWith("[")) return trimmed;
  const colon = trimmed.indexOf(":");
  const port = colon === -1 ? "" : trimmed.slice(colon);
  return normalizeHost(trimmed) + port;
}

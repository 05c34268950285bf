/**
 * Headers a Bookinfo app copies from its inbound request onto its outbound calls, as Istio's
 * sample does, so the trace and the end user follow the request (plus the mesh's deadline).
 */
export const FORWARDED_HEADERS = [
  "x-request-id",
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "x-ot-span-context",
  "x-cloud-trace-context",
  "grpc-trace-bin",
  "sw8",
  "user-agent",
  "end-user",
  "x-isomesh-deadline-ms",
] as const;

export function forwardedHeaders(from: Headers): Headers {
  const out = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const v = from.get(name);
    if (v !== null) out.set(name, v);
  }
  return out;
}

/** A call to another service through its binding, bounded like Istio's productpage (3 s). */
export async function callService(
  binding: Fetcher | undefined,
  url: string,
  headers: Headers,
  timeoutMs = 3000,
): Promise<{ status: number; body: unknown } | undefined> {
  if (!binding) return undefined;
  try {
    const res = await binding.fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

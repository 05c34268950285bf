import { bodyTooLarge, LIMITS } from "../../../shared/resources/limits.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";

// A refused body is not read, but what is already arriving is read and dropped for a while before
// the connection closes (nginx's lingering close): closing a socket with unread data resets it, and
// the client would see the reset instead of the 413. Bounded: at most this much, this long.
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 2000;

export type BodyText = { ok: true; text: string } | { ok: false; response: Response };

/**
 * Reads a request body as text, at most `maxBytes`: a declared Content-Length over the limit is
 * refused before one byte is read, and a body without one is refused as soon as it passes the
 * limit while it streams in. Refused bodies are never buffered; the refusal is a 413
 * `{errors:[{resource, path, message}]}` naming the limit.
 */
export async function readBodyText(
  request: Request,
  maxBytes: number = LIMITS.bodyBytes,
  extra: Record<string, unknown> = {},
): Promise<BodyText> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    // A client that waits for 100 Continue sends nothing: there is nothing to drop.
    const waiting = request.headers.get("expect")?.toLowerCase() === "100-continue";
    return {
      ok: false,
      response: tooLarge(
        bodyTooLarge(declared),
        extra,
        request.body && !waiting ? request.body.getReader() : undefined,
      ),
    };
  }
  if (!request.body) return { ok: true, text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) return { ok: false, response: tooLarge(bodyTooLarge(), extra, reader) };
    chunks.push(value);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { ok: true, text: new TextDecoder().decode(all) };
}

/** The 413; with a body still arriving, the response stays open while it is dropped (see LINGER_MS). */
function tooLarge(
  issue: ResourceIssue,
  extra: Record<string, unknown>,
  pending: ReadableStreamDefaultReader<Uint8Array> | undefined,
): Response {
  const bytes = new TextEncoder().encode(JSON.stringify({ errors: [issue], ...extra }));
  const headers = { "content-type": "application/json", connection: "close" };
  if (!pending) return new Response(bytes, { status: 413, headers });
  const body = new FixedLengthStream(bytes.byteLength);
  const writer = body.writable.getWriter();
  void writer
    .write(bytes)
    .then(() => discard(pending))
    .finally(() => writer.close().catch(() => undefined));
  return new Response(body.readable, { status: 413, headers });
}

async function discard(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const until = Date.now() + LINGER_MS;
  let dropped = 0;
  try {
    while (dropped < LINGER_BYTES && Date.now() < until) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
    }
  } catch {
    return; // the client went away
  }
  await reader.cancel().catch(() => undefined);
}

/** JSON text to a value, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

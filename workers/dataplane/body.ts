/** Default limit for buffering a request body so that a retry can replay it (like linkerd's replay). */
export const REPLAY_LIMIT_BYTES = 64 * 1024;

/** A request body that can be sent once (stream) or replayed (buffered); `unchanged`: the request has none, it can go as it came. */
export type ReplayableBody = { replayable: boolean; unchanged?: boolean; take(): BodyInit | null };

const NO_BODY: ReplayableBody = { replayable: true, unchanged: true, take: () => null };

/**
 * Buffers a body up to `limit` bytes. A larger body is passed through as one stream (the bytes
 * already read, then the rest) and marked not replayable, so it is sent once and never retried.
 */
export async function bufferBody(request: Request, limit = REPLAY_LIMIT_BYTES): Promise<ReplayableBody> {
  if (!request.body) return NO_BODY;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) return once(request.body);
  const reader = request.body.getReader();
  const read = await readUpTo(reader, limit);
  if (!read.ended) return once(prepend(read.chunks, reader));
  const bytes = concat(read.chunks, read.size);
  return { replayable: true, take: () => bytes };
}

/** Reads a stream to its end, or until more than `limit` bytes were read (the rest left unread). */
export async function readUpTo(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
): Promise<{ chunks: Uint8Array[]; size: number; ended: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunks, size, ended: true };
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) return { chunks, size, ended: false };
  }
}

function once(stream: ReadableStream): ReplayableBody {
  let taken = false;
  return {
    replayable: false,
    take: () => {
      if (taken) throw new Error("request body already sent");
      taken = true;
      return stream;
    },
  };
}

function prepend(chunks: Uint8Array[], rest: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
    },
    async pull(controller) {
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => rest.cancel(reason),
  });
}

export function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

import { concat, readUpTo } from "./body.ts";

/**
 * A response's text, or undefined past `limit` bytes (read no further): what another Worker put in
 * the shared cache may be any size, and every isolate reads it on every check.
 */
export async function boundedText(res: Response, limit: number): Promise<string | undefined> {
  // Cancelled, not awaited: a cancel may wait for whoever else holds the stream (a tee).
  if (Number(res.headers.get("content-length") ?? 0) > limit) {
    res.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const read = await readUpTo(reader, limit);
  if (!read.ended) {
    reader.cancel().catch(() => {});
    return undefined;
  }
  return new TextDecoder().decode(concat(read.chunks, read.size));
}

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
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Longest path a span's name keeps: the rest is cut (a span's size must not follow the client's). */
export const SPAN_PATH_CHARS = 256;

/** A hop's span name, `GET /path`, its path cut at SPAN_PATH_CHARS (marked with "…"). */
export const spanName = (method: string, path: string): string =>
  `${method} ${path.length > SPAN_PATH_CHARS ? `${path.slice(0, SPAN_PATH_CHARS)}…` : path}`;

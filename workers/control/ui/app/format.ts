// Formatting that never prints "undefined" or "NaN": a missing or non-finite value is a dash.

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
export const DASH = "–";

export const esc = (s: unknown) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** A share (0..1) as a percentage. */
export const pct = (v: unknown) => (finite(v) ? `${(v * 100).toFixed(1)}%` : DASH);
/** Already a percentage (0..100). */
export const percent = (v: unknown) => (finite(v) ? `${Math.round(v * 10) / 10}%` : DASH);
export const ms = (v: unknown) => (finite(v) ? `${v < 10 ? v.toFixed(1) : Math.round(v)} ms` : DASH);
export const rps = (v: unknown) =>
  finite(v) ? (v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : DASH;
export const num = (v: unknown) => (finite(v) ? String(v) : DASH);

/** ok ≥ 99%, warn ≥ 95%, bad below; dim without traffic. */
export const health = (successRate: unknown) =>
  !finite(successRate) ? "dim" : successRate >= 0.99 ? "ok" : successRate >= 0.95 ? "warn" : "bad";

/** HTTP status classes: 2xx ok, 3xx info, 4xx warn, 5xx (and 0, no answer) bad. */
export const statusClass = (code: unknown) =>
  !finite(code) ? "dim" : code >= 500 || code === 0 ? "bad" : code >= 400 ? "warn" : code >= 300 ? "info" : "ok";

export const COLORS = { ok: "#3ecf8e", info: "#6ea8fe", warn: "#f5b83d", bad: "#f0616d", dim: "#8a96b0" } as const;

/** "3 s ago", "2 min ago" (from a time in ms or an ISO string). */
export function ago(at: unknown, now = Date.now()): string {
  const t = typeof at === "string" ? Date.parse(at) : at;
  if (!finite(t)) return DASH;
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

export const clock = (at: unknown) => {
  const t = typeof at === "string" ? Date.parse(at) : at;
  return finite(t) ? new Date(t).toLocaleTimeString() : DASH;
};

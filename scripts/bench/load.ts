import { Agent, request } from "node:http";

export type LoadResult = { sent: number; ok: number; errors: number; latenciesMs: number[]; durationMs: number };

/**
 * Open-loop load at a constant rate: request i is due at start + i/rate and its latency is
 * measured from that due time, not from when it was actually sent, so a stalled server is
 * charged for the requests it delayed (no coordinated omission).
 */
export async function constantRate(
  url: string,
  opts: { rate: number; seconds: number; headers?: Record<string, string>; connections?: number },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections ?? 64 });
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Charged from the due time, or from the send itself if the timer fired early.
    const from = Math.min(due, performance.now());
    inflight.push(
      new Promise<void>((resolve) => {
        const req = request(url, { agent, headers: opts.headers }, (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - from);
            if (res.statusCode === 200) ok++;
            else errors++;
            resolve();
          });
        });
        req.on("error", () => {
          errors++;
          latencies.push(performance.now() - from);
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  return { sent: total, ok, errors, latenciesMs: latencies, durationMs: performance.now() - start };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

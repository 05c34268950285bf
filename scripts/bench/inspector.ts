import { WebSocket } from "undici";

/** One worker's V8 inspector session (Chrome DevTools protocol) in a workerd Miniflare started with `inspectorPort`. */
export type InspectorSession = {
  worker: string;
  send<T>(method: string, params?: object): Promise<T>;
  close(): void;
};

/** Sessions with the workers named `names` (all when omitted), through workerd's inspector on `port`. */
export async function inspectorSessions(port: number, names?: string[]): Promise<InspectorSession[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const workerOf = (url: string) => url.slice(url.lastIndexOf(":") + 1); // …/core:user:<worker>
  const wanted = targets.filter((t) => !names || names.includes(workerOf(t.webSocketDebuggerUrl)));
  return Promise.all(wanted.map((t) => session(t.webSocketDebuggerUrl, workerOf(t.webSocketDebuggerUrl))));
}

async function session(url: string, worker: string): Promise<InspectorSession> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error(`inspector of ${worker}: cannot connect`)));
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return; // events (heap snapshot chunks, console messages) are not needed
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(`${worker}: ${m.error.message}`));
    else p.resolve(m.result);
  });
  return {
    worker,
    send: <T>(method: string, params = {}) =>
      new Promise<T>((resolve, reject) => {
        pending.set(++nextId, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id: nextId, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * A full garbage collection in each worker, then its JS heap in use (bytes). workerd's inspector
 * does not answer HeapProfiler.collectGarbage; taking a heap snapshot collects first, so that is
 * what runs (its chunks are discarded). The console messages the inspector keeps for a debugger
 * (the last 1 000 of each worker) are dropped first: they are the inspector's, not the worker's.
 */
export async function collectGarbage(sessions: InspectorSession[]): Promise<Record<string, number>> {
  const heaps: Record<string, number> = {};
  for (const s of sessions) {
    await s.send("Runtime.discardConsoleEntries");
    await s.send("HeapProfiler.enable");
    await s.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await s.send("HeapProfiler.disable");
    heaps[s.worker] = (await s.send<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize;
  }
  return heaps;
}

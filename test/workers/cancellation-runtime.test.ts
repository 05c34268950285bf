import type { Miniflare } from "miniflare";
import { ownedMiniflare } from "../../scripts/lib/scratch-dir.ts";
import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";

// What workerd does to the callee of a service binding when its caller gives up: the behaviour
// the edge's telemetry stage is built on (workers/dataplane/stages/telemetry.ts). If a workerd
// upgrade changes it, this file says so before the mesh's own tests start missing requests.

/** B parks on a 300 ms wait; every step it gets to is noted in module state, which /events returns. */
const callee = `
import { WorkerEntrypoint } from "cloudflare:workers";
const events = [];
export default class B extends WorkerEntrypoint {
  async fetch(request) {
    const url = new URL(request.url);
    // Waits longer than any B request parked before it: workerd fires one isolate's timers in deadline order.
    if (url.pathname === "/events") { await scheduler.wait(400); return Response.json(events); }
    const id = url.searchParams.get("id");
    request.signal.addEventListener("abort", () => {
      events.push(id + ":abort:" + request.signal.reason);
      this.ctx.waitUntil(this.env.SINK.fetch("http://sink/").then((r) => events.push(id + ":io-after-abort:" + r.status)));
    });
    if (url.searchParams.has("hold")) this.ctx.waitUntil(scheduler.wait(700));
    try {
      await scheduler.wait(300);
      events.push(id + ":after-await");
      return new Response("late");
    } finally {
      events.push(id + ":finally");
    }
  }
}`;
/** A gives up on B after 50 ms (aborting its fetch) and answers 504; /events is B's. */
const caller = `
export default { async fetch(request, env) {
  const url = new URL(request.url);
  if (url.pathname === "/events") return env.B.fetch(request);
  try { return await env.B.fetch("http://b/" + url.search, { signal: AbortSignal.timeout(50) }); }
  catch { return new Response("gave up", { status: 504 }); }
} }`;

const instances: Miniflare[] = [];
function runtime(flags: string[]) {
  const mf = ownedMiniflare({
    workers: [
      { name: "a", modules: true, script: caller, compatibilityDate: "2025-04-01", serviceBindings: { B: "b" } },
      {
        name: "b",
        modules: true,
        script: callee,
        compatibilityDate: "2025-04-01",
        compatibilityFlags: flags,
        serviceBindings: { SINK: "sink" },
      },
      {
        name: "sink",
        modules: true,
        script: "export default { fetch: () => new Response('ok') }",
        compatibilityDate: "2025-04-01",
      },
    ],
  });
  instances.push(mf);
  const events = async (id: string) =>
    ((await (await mf.dispatchFetch("http://a/events")).json()) as string[]).filter((e) => e.startsWith(id + ":"));
  const call = async (query: string) => {
    const res = await mf.dispatchFetch(`http://a/?${query}`);
    await res.text();
    return res.status;
  };
  return { call, events };
}
afterAll(async () => {
  for (const mf of instances) await mf.dispose();
});

describe("a service binding's callee when its caller gives up (workerd)", () => {
  it("with enable_request_signal: request.signal aborts at once, waitUntil still works from the listener, and the parked handler never resumes", async () => {
    const b = runtime(["enable_request_signal"]);
    expect(await b.call("id=1")).toBe(504);
    const events = await eventually(
      () => b.events("1"),
      (e) => e.some((x) => x.startsWith("1:io-after-abort")),
    );
    expect(events).toEqual(["1:abort:AbortError: The client has disconnected", "1:io-after-abort:200"]);
  });

  it("without the flag the signal never fires, and with no waitUntil pending nothing after the await runs, not even finally", async () => {
    const b = runtime([]);
    expect(await b.call("id=2")).toBe(504);
    expect(await b.events("2")).toEqual([]); // /events waits past the 300 ms B was parked on
  });

  it("a waitUntil pending in the callee keeps its handler running to the end, answering nobody", async () => {
    const b = runtime(["enable_request_signal"]);
    expect(await b.call("id=3&hold")).toBe(504);
    const events = await eventually(
      () => b.events("3"),
      (e) => e.includes("3:finally"),
    );
    expect(events).toEqual([
      "3:abort:AbortError: The client has disconnected",
      "3:io-after-abort:200",
      "3:after-await",
      "3:finally",
    ]);
  });
});

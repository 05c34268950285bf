import { describe, expect, it } from "vitest";
import type { Exchange } from "../../workers/dataplane/exchange.ts";
import { telemetry } from "../../workers/dataplane/stages/telemetry.ts";
import type { TelemetrySink } from "../../workers/dataplane/telemetry/sink.ts";

// The telemetry stage records each request exactly once: its answer, or code 0 the moment its
// caller gives up (request.signal, see the stage's comment for what workerd does).

function harness() {
  const records: [number, string | null][] = [];
  const sink: TelemetrySink = {
    request: (_x, status, backend) => void records.push([status, backend]),
    mirror: () => {},
  };
  const caller = new AbortController();
  const x = { kind: "fetch", inbound: new Request("http://svc/x", { signal: caller.signal }) } as unknown as Exchange;
  let answer!: (r: Response) => void;
  const pending = telemetry<Exchange, Response>(sink)(x, () => new Promise<Response>((r) => (answer = r)));
  return { records, caller, answer: (r: Response) => answer(r), pending };
}

describe("telemetry stage", () => {
  it("records the answer once, with the backend the response names", async () => {
    const h = harness();
    h.answer(new Response("ok", { headers: { "x-isomesh-backend": "svc/v1" } }));
    expect((await h.pending).status).toBe(200);
    h.caller.abort(); // after the answer: nothing more to record
    expect(h.records).toEqual([[200, "svc/v1"]]);
  });

  it("records code 0 when the caller gives up first, at that moment, and never the late answer", async () => {
    const h = harness();
    h.caller.abort();
    expect(h.records).toEqual([[0, null]]);
    h.answer(new Response("late")); // a handler kept alive by a waitUntil runs on to the end
    await h.pending;
    expect(h.records).toEqual([[0, null]]);
  });
});

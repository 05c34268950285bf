// What the gateway hands a service edge, without the gateway's own work: the headers it sets on every
// request (a request id, an unsampled trace context, the time left, the caller) over a binding whose
// props name it. The ladder and the hop table put it in front of a service edge, and of the bare hop
// it is compared with, so both are measured where a service edge runs: behind the gateway.
let n = 0;
export default {
  fetch(request: Request, env: { HOP: Fetcher }): Promise<Response> {
    const forwarded = new Request(request);
    forwarded.headers.set("x-request-id", `bench-${++n}`);
    forwarded.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    forwarded.headers.set("x-isomesh-deadline-ms", "15000");
    forwarded.headers.set("x-isomesh-caller", "gateway");
    return env.HOP.fetch(forwarded);
  },
} satisfies ExportedHandler<{ HOP: Fetcher }>;

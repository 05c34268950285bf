import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { compileFor, testEdge } from "../../helpers/edge.ts";

// The egress edge in process: the allow-list (ExternalService hosts, ports, schemes), what may call
// out, and the ExternalService's policies. The outside world is a stub of the global fetch the edge
// calls out with (test/workers/egress.test.ts keeps a real socket and the apps' bindings).

const manifest = `name: egr
services:
  - { name: shop, versions: [{ name: v1, echo: true }], egress: true }
`;
const books = (spec = "") => `apiVersion: isomesh.dev/v1
kind: ExternalService
metadata: { name: books }
spec:
  hosts: [books.example]
  ports: [{ number: 8080, protocol: HTTP }]
${spec}`;
const egressOf = (yaml: string) => testEdge(compileFor(manifest, "egress", yaml));
const callOut = (
  edge: ReturnType<typeof egressOf>,
  url: string,
  opts: {
    caller?: string;
    headers?: Record<string, string>;
    method?: string;
    captured?: "declared" | "undeclared";
  } = {},
) =>
  edge.fetch(new Request(url, { method: opts.method, headers: opts.headers }), {
    caller: opts.caller ?? "shop",
    captured: opts.captured,
  });
const error = async (r: Response) => ((await r.json()) as { error: Record<string, unknown> }).error;

let outside: Request[];
let answer: (r: Request) => Response | Promise<Response>;
beforeEach(() => {
  outside = [];
  answer = () => new Response("{}", { headers: { "x-isomesh-backend": "forged/by-the-outside" } });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const r = new Request(input as RequestInfo, init);
    outside.push(r);
    return answer(r);
  });
});
afterEach(() => vi.restoreAllMocks());

describe("egress: the allow-list", () => {
  it("denies a host no ExternalService declares, naming the host, without calling out", async () => {
    const res = await callOut(egressOf(books()), "http://elsewhere.example:8080/v1/books");
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "egress_denied", host: "elsewhere.example" });
    expect(outside).toEqual([]);
  });

  it("lets a declared host and port through, without mesh headers, and drops the ones the outside answers with", async () => {
    const res = await callOut(egressOf(books()), "http://books.example:8080/v1/books?q=1", {
      headers: { "x-isomesh-principal": "spoofed" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-isomesh-backend")).not.toBe("forged/by-the-outside");
    expect(outside[0].url).toBe("http://books.example:8080/v1/books?q=1");
    expect([...outside[0].headers.keys()].filter((h) => h.startsWith("x-isomesh-"))).toEqual([]);
    expect(outside[0].headers.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it("matches the host the call connects to, not a Host header the app sets", async () => {
    const res = await callOut(egressOf(books()), "http://127.0.0.1:8080/sneaky", {
      headers: { host: "books.example" },
    });
    expect(res.status).toBe(403);
    expect(outside).toEqual([]);
  });

  it.each([
    ["a port", "http://books.example:9999/x", "does not declare HTTP on port 9999"],
    ["a scheme", "https://books.example:8080/x", "does not declare HTTPS on port 8080"],
  ])("denies %s the ExternalService does not declare, naming it", async (_what, url, message) => {
    const res = await callOut(egressOf(books()), url);
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({
      code: "egress_denied",
      externalService: "books",
      message: expect.stringContaining(message),
    });
  });

  it("serves only mesh apps", async () => {
    const edge = egressOf(books());
    const res = await edge.fetch(new Request("http://books.example:8080/x"), { caller: "" }); // not through a binding
    expect(res.status).toBe(403);
    expect((await error(res)).message).toMatch(/only serves mesh apps/);
  });
});

describe("egress: an app's global fetch (captured by isomesh dev)", () => {
  it("goes through like an EGRESS call; a denial says production would bypass the egress edge", async () => {
    const edge = egressOf(books());
    expect((await callOut(edge, "http://books.example:8080/captured", { captured: "declared" })).status).toBe(200);
    const denied = await callOut(edge, "http://127.0.0.1:9/elsewhere", { captured: "declared" });
    expect(denied.status).toBe(403);
    expect(await error(denied)).toMatchObject({
      code: "egress_denied",
      hint: expect.stringContaining("env.EGRESS.fetch"),
    });
  });

  it("is denied for a service that does not declare egress", async () => {
    const res = await callOut(egressOf(books()), "http://books.example:8080/captured", {
      caller: "plain",
      captured: "undeclared",
    });
    expect(res.status).toBe(403);
    expect((await error(res)).message).toBe(
      "plain called http://books.example:8080 with the global fetch, and its service does not declare egress: true",
    );
  });
});

describe("egress: policies", () => {
  it("applies the ExternalService's retries and timeouts", async () => {
    const edge = egressOf(
      books("  timeouts: { request: 300ms }\n  retry: { codes: [503], attempts: 2, backoff: 10ms }\n"),
    );
    let failures = 2;
    answer = () => new Response("", { status: failures-- > 0 ? 503 : 200 });
    const retried = await callOut(edge, "http://books.example:8080/flaky");
    expect(retried.status).toBe(200);
    expect(outside).toHaveLength(3);
    answer = (r) => new Promise((resolve, reject) => r.signal.addEventListener("abort", () => reject(r.signal.reason)));
    const slow = await callOut(edge, "http://books.example:8080/slow");
    expect(slow.status).toBe(504);
    expect((await error(slow)).code).toBe("upstream_timeout");
  });

  it("authorizes callers with an AuthorizationPolicy on the egress gateway, after the allow-list", async () => {
    const edge = egressOf(`${books()}---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: books-callers }
spec:
  targetRefs: [{ kind: Gateway, name: egress }]
  rules: [{ from: [{ source: { principals: [shop] } }], to: [{ operation: { hosts: [books.example], methods: [GET] } }] }]
`);
    expect((await callOut(edge, "http://books.example:8080/ok")).status).toBe(200);
    const intruder = await callOut(edge, "http://books.example:8080/ok", { caller: "intruder" });
    expect(intruder.status).toBe(403);
    expect((await error(intruder)).code).toBe("rbac_denied");
    expect((await callOut(edge, "http://books.example:8080/ok", { method: "POST" })).status).toBe(403);
    expect((await error(await callOut(edge, "http://unknown.example/", { caller: "intruder" }))).code).toBe(
      "egress_denied",
    );
  });

  it("rate limits calls out per external host with a TrafficPolicy on the egress edge", async () => {
    const edge = egressOf(`${books()}---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: egress-quota }
spec:
  targetRefs: [{ kind: Gateway, name: egress }]
  rateLimits: [{ requests: 2, per: 1m, key: { host: true } }]
`);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await callOut(edge, "http://books.example:8080/quota")).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});

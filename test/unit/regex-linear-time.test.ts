import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { Attack } from "../helpers/regex-attack-worker.ts";

// Issue 25: route regexes an attacker's input made backtrack for seconds (`^(a|aa)+$` on
// `aaaa…a!`), stalling the gateway. Here the edge's own route table, RPC routing and fault
// matcher meet the patterns with inputs of 20 000 characters: a backtracking engine
// would take longer than the age of the universe (the work doubles about every character), a
// linear one takes milliseconds. The match runs in a worker thread, terminated at the deadline,
// so a backtracking engine fails this test instead of hanging it; the deadline is minutes above
// what the linear engine needs even on a loaded machine, so it cannot flake.

const DEADLINE_MS = 60_000;

function runAttack(attack: Attack): Promise<unknown[]> {
  // A worker thread runs plain JavaScript: tsx loads the TypeScript there, as it does for the CLI.
  const entry = new URL("../helpers/regex-attack-worker.ts", import.meta.url).href;
  const worker = new Worker(`import("tsx/esm/api").then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, __filename))`, {
    eval: true,
    workerData: attack,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`matching did not finish in ${DEADLINE_MS / 1000} s: the engine backtracks`));
    }, DEADLINE_MS);
    worker.once("message", (outcomes: unknown[]) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(outcomes);
    });
    worker.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const manifest = `name: t
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
`;
const a = "a".repeat(20_000);

const gatewayRoutes = ["^/((a+))+$", "^/(a|a)+$", "^/(a{1,})+$"]
  .map(
    (path, i) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: path-${i} }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [victim.example]
  rules: [{ matches: [{ path: { type: RegularExpression, value: "${path}" } }], backendRefs: [{ name: web }] }]
`,
  )
  .concat(
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: by-header }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches:
        - headers: [{ type: RegularExpression, name: x-user, value: "^(a|aa)+$" }]
        - queryParams: [{ type: RegularExpression, name: q, value: "^(a|aa)+$" }]
      backendRefs: [{ name: api }]
    - backendRefs: [{ name: web }]
`,
  )
  .join("---\n");

const serviceRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api-rpc }
spec:
  parentRefs: [{ kind: Service, name: api }]
  rules:
    - matches: [{ rpc: { type: RegularExpression, method: "(a|aa)+" } }]
      backendRefs: [{ name: api, version: v2 }]
    - backendRefs: [{ name: api, version: v1 }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: api }
spec:
  targetRefs: [{ kind: Service, name: api }]
  faultInjection:
    match: { headers: [{ type: RegularExpression, name: x-user, value: "^(a|aa)+$" }] }
    abort: { httpStatus: 500 }
`;

describe("every regex the mesh evaluates on request data runs in linear time", () => {
  it(
    "gateway routes: path, header and query regexes on the issue's attack inputs",
    async () => {
      const outcomes = await runAttack({
        manifest,
        resources: gatewayRoutes,
        edge: "gateway",
        requests: [
          { kind: "fetch", url: `http://victim.example/${a}!`, headers: {} },
          { kind: "fetch", url: "http://other.example/", headers: { "x-user": `${a}!` } },
          { kind: "fetch", url: `http://other.example/?q=${a}!`, headers: {} },
          { kind: "fetch", url: "http://other.example/", headers: { "x-user": a } }, // these do match
          { kind: "fetch", url: `http://victim.example/${a}`, headers: {} },
        ],
      });
      expect(outcomes).toEqual([null, "by-header", "by-header", "by-header", "path-2"]);
    },
    DEADLINE_MS + 30_000,
  );

  it(
    "a service edge: an RPC method regex and a fault injection's header regex",
    async () => {
      const outcomes = await runAttack({
        manifest,
        resources: serviceRoutes,
        edge: "api-edge",
        requests: [
          { kind: "rpc", method: `${"a".repeat(120)}$` },
          { kind: "fault", headers: { "x-user": `${a}!` } },
          { kind: "rpc", method: "a".repeat(120) },
          { kind: "fault", headers: { "x-user": a } },
        ],
      });
      expect(outcomes).toEqual(["api-rpc", false, "api-rpc", true]);
    },
    DEADLINE_MS + 30_000,
  );
});

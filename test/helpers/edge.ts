import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { serviceBinding, versionBinding } from "../../shared/names.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import echo from "../../workers/echo/index.ts";
import type { EdgeEnv, EdgeProps } from "../../workers/dataplane/env.ts";
import { buildEdge } from "../../workers/dataplane/pipelines.ts";
import { fetchExchange } from "../../workers/dataplane/request.ts";
import { bindingTarget } from "../../workers/dataplane/upstream.ts";
import { externalTarget } from "../../workers/edge/external.ts";
import { ResilienceState } from "../../workers/dataplane/resilience/state.ts";
import type { GlobalLimiter } from "../../workers/dataplane/stages/rate-limit.ts";
import type { ProviderReach } from "../../workers/dataplane/stages/ext-authz.ts";
import { TelemetryRecorder } from "../../workers/dataplane/telemetry/recorder.ts";
import { docs } from "./config-store.ts";

/** Compiles `edge`'s snapshot from a manifest and resource YAML, as the ConfigStore does (round-tripped through JSON and the schema, as an edge reads it). */
export function compileFor(manifest: string, edge: string, yaml = ""): Snapshot {
  const topology = topologyOf(parseManifest(manifest));
  const { parsed, errors } = validateDocuments(docs(yaml).filter((d) => d !== null && d !== undefined));
  if (errors.length) throw new Error(JSON.stringify(errors));
  return Snapshot.parse(
    JSON.parse(
      JSON.stringify(
        compileSnapshot(
          topology,
          edge,
          parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
          1,
        ),
      ),
    ),
  );
}

/** What a backend binding answers: `backend` is the service (at the gateway) or the version (at a service edge). */
export type Backend = (backend: string, request: Request) => Response | Promise<Response>;

/** The echo app as every backend: it answers with what it received, as `service`/`version`. */
export const echoBackend =
  (snapshot: Snapshot): Backend =>
  (backend, request) =>
    echo.fetch(
      request,
      snapshot.role === "service" ? { SERVICE: snapshot.service, VERSION: backend } : { SERVICE: backend },
    );

/** `caller`: the app whose binding calls (default: the gateway, or nobody at the gateway); "" for a request from outside the mesh. */
export type Call = { caller?: string; explain?: boolean; captured?: EdgeProps["captured"] };

export type TestEdge = {
  snapshot: Snapshot;
  /** Sends a request through the pipeline, as the binding of `caller` would (the gateway's callers are "external"). */
  request(
    path: string,
    init?: {
      host?: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
    } & Call,
  ): Promise<Response>;
  /** The same with a Request of the test's making (a full URL: the egress edge's callers name the external host). */
  fetch(request: Request, call?: Call): Promise<Response>;
  /** Every request a backend binding received, in order, with the binding's name. */
  sent: { backend: string; request: Request }[];
  /** The decisions of the last request sent with `explain: true`. */
  decisions: DecisionLog["decisions"];
  recorder: TelemetryRecorder;
  /** Settles what the edge left running in waitUntil (mirrors, flushes). */
  settle(): Promise<void>;
};

/**
 * An edge in process, as hono tests an app with `app.request()`: the real pipeline of a compiled
 * snapshot, its backend bindings fakes (the echo app unless the test gives `backend`), state kept
 * across requests like an isolate's. A stage's behaviour is tested in milliseconds, without workerd.
 */
export function testEdge(
  snapshot: Snapshot,
  opts: {
    backend?: Backend;
    resilience?: ResilienceState;
    globalLimiter?: GlobalLimiter;
    env?: Record<string, unknown>;
    /** How the edge reaches CUSTOM policies' providers (by service). */
    provider?: ProviderReach;
  } = {},
): TestEdge {
  const backend = opts.backend ?? echoBackend(snapshot);
  const sent: TestEdge["sent"] = [];
  const bindings: Record<string, Fetcher> = {};
  for (const name of snapshot.backends) {
    const fetcher = {
      fetch: async (input: RequestInfo, init?: RequestInit) => {
        const request = new Request(input, init);
        sent.push({ backend: name, request: request.clone() });
        return backend(name, request);
      },
    } as unknown as Fetcher;
    bindings[snapshot.role === "gateway" ? serviceBinding(name) : versionBinding(name)] = fetcher;
  }
  const env: Record<string, unknown> = { ...bindings, ...opts.env };
  const recorder = new TelemetryRecorder();
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p.catch(() => undefined)),
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  const pipeline = buildEdge(snapshot, {
    recorder,
    flush: () => {},
    accessLogRate: 0,
    resilience: opts.resilience ?? new ResilienceState(),
    authn: { remotes: new Map(), fetcher: () => Promise.reject(new Error("no network in tests")) },
    globalLimiter: opts.globalLimiter,
    provider: opts.provider,
    // As the edge host reaches backends: by service at the gateway, by version at a service edge.
    reach: (b, s) => {
      if (s.role === "egress") return externalTarget(env as EdgeEnv, s, b);
      const binding = env[s.role === "gateway" ? serviceBinding(b.service) : versionBinding(b.version ?? "")];
      return binding ? bindingTarget(binding as Fetcher) : undefined;
    },
  }).fetch;
  const edge: TestEdge = {
    snapshot,
    sent,
    decisions: [],
    recorder,
    request(path, init = {}) {
      const host = init.host ?? (snapshot.role === "service" ? snapshot.service! : "localhost");
      return edge.fetch(
        new Request(`http://${host}${path}`, {
          method: init.method,
          headers: { host, ...init.headers },
          body: init.body,
          signal: init.signal,
        }),
        init,
      );
    },
    async fetch(request, call = {}) {
      const caller = call.caller ?? (snapshot.role === "gateway" ? undefined : "gateway");
      const record = call.explain ? new DecisionLog(true) : NO_RECORD;
      const x = fetchExchange(request, ctx, caller ? { caller, captured: call.captured } : undefined, snapshot, record);
      const response = await pipeline(x);
      if (call.explain) edge.decisions = record.decisions;
      return response;
    },
    async settle() {
      while (pending.length) await Promise.all(pending.splice(0));
    },
  };
  return edge;
}

/**
 * A mesh in process: every edge of a manifest compiled from `yaml`, the gateway's service bindings
 * calling the service edges (as the gateway), their versions the echo app unless `backend` says.
 */
export function testMesh(
  manifest: string,
  yaml = "",
  opts: { backend?: (service: string) => Backend | undefined } = {},
) {
  const topology = topologyOf(parseManifest(manifest));
  const edges = new Map<string, TestEdge>();
  const edgeOf = (name: string) => {
    const e = edges.get(name);
    if (!e) throw new Error(`no edge ${name}`);
    return e;
  };
  for (const s of topology.services) {
    const snapshot = compileFor(manifest, `${s.name}-edge`, yaml);
    edges.set(`${s.name}-edge`, testEdge(snapshot, { backend: opts.backend?.(s.name) }));
  }
  edges.set(
    "gateway",
    testEdge(compileFor(manifest, "gateway", yaml), {
      backend: (service, request) => edgeOf(`${service}-edge`).fetch(request, { caller: "gateway" }),
    }),
  );
  return {
    gateway: edgeOf("gateway"),
    edge: edgeOf,
    request: (...a: Parameters<TestEdge["request"]>) => edgeOf("gateway").request(...a),
  };
}

import { parentPort, workerData } from "node:worker_threads";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { faultMatcher } from "../../shared/resilience/fault.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { rpcTarget } from "../../shared/rpc/match.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";

// Runs in a worker thread (test/unit/regex-linear-time.test.ts): what the edge does with the
// request data an attacker chooses, through the same code, from the same resources. A thread can
// be terminated when a match never ends; a test's timeout cannot stop a synchronous loop.

export type Attack = { manifest: string; resources: string; edge: string; requests: AttackRequest[] };
export type AttackRequest =
  | { kind: "fetch"; url: string; headers: Record<string, string> }
  | { kind: "rpc"; method: string }
  | { kind: "fault"; headers: Record<string, string> };

const { manifest, resources, edge, requests } = workerData as Attack;
const { parsed, errors } = validateDocuments(splitDocuments(resources).docs);
if (errors.length) throw new Error(JSON.stringify(errors));
const snapshot = compileSnapshot(
  topologyOf(parseManifest(manifest)),
  edge,
  parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
  1,
);
const table = new RouteTable(snapshot.vhosts, snapshot);
const fault = snapshot.policy?.faultInjection;
const applies = fault && faultMatcher(fault, snapshot.regexes);
const outcomes = requests.map((r) => {
  if (r.kind === "rpc") return table.matchRpc(rpcTarget(undefined, r.method))?.route ?? null;
  if (r.kind === "fault") return applies ? applies(new Headers(r.headers)) : null;
  const url = new URL(r.url);
  return table.match(factsOf("GET", url, new Headers({ host: url.host, ...r.headers })))?.route ?? null;
});
parentPort!.postMessage(outcomes);

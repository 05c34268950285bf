import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { configScale } from "./config-scale.ts";
import { hopOverhead, TRACE_SAMPLING } from "./hop.ts";
import { historySection, hopTargetRows, ladderSection } from "./hop-report.ts";
import { hopLadder } from "./ladder.ts";
import { profileWorker } from "./profile.ts";
import { existsSync, readFileSync } from "node:fs";
import { workerdOps } from "./ops.ts";
import { decisionRecordBench, jwtBench, normalizationBench, recorderBench, regexBench } from "./micro.ts";
import { latencySvg } from "./plot.ts";
import { propagationLocal, propagationWorldwide } from "./propagation.ts";
import { telemetryDo } from "./telemetry-do.ts";
import { INTERNET, SMOKE_WORLD, telemetryScaleMarkdown, telemetryWorldwide } from "./telemetry-scale.ts";
import { PLATEAU_MB, soak, soakMarkdown } from "./soak.ts";
import { beaconCost } from "./beacon.ts";
import { rpcOverhead } from "./rpc.ts";
import { edgeBundleComposition } from "./edge-bundle.ts";
import { edgeColdStart } from "./edge-cold-start.ts";
import { controlIsolateMs, meshScale, type MeshScaleRow } from "./mesh-scale.ts";

const ENVOY_BYTES_PER_CLUSTER = 44 * 1024; // Istio's published figure for a sidecar's per-service config

/** The mesh's cost on an RPC call, against the same call over a bare binding, and against fetch's. */
function rpcNote(rows: { name: string; p50: number; cpuUsPerReq: number }[]): string {
  const by = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const [bareRpc, meshRpc, bareFetch, meshFetch] = [
    by("RPC over"),
    by("RPC through"),
    by("fetch over"),
    by("fetch through"),
  ];
  if (!bareRpc || !meshRpc || !bareFetch || !meshFetch) return "";
  const us = (ms: number) => `${ms >= 0 ? "+" : ""}${f(ms * 1000, 0)} µs`;
  return `Through the mesh an RPC call costs ${us(meshRpc.p50 - bareRpc.p50)} p50 and ${us((meshRpc.cpuUsPerReq - bareRpc.cpuUsPerReq) / 1000)} of CPU over the same call on a bare binding;
a fetch costs ${us(meshFetch.p50 - bareFetch.p50)} p50 and ${us((meshFetch.cpuUsPerReq - bareFetch.cpuUsPerReq) / 1000)} of CPU the same way.`;
}

/** The 30-service targets of issue 22, from the row of that size (when this run measured it). */
function meshTargets(rows: MeshScaleRow[]): string {
  const r = rows.find((x) => x.services === 30);
  if (!r) return "";
  return `| ${r.services} services ready within 2.5× of a bare Miniflare with as many workers (${r.workers}) | ${f(r.cold.readyMs / 1000, 1)} s cold, ${f(r.warm.readyMs / 1000, 1)} s warm vs ${f(r.bare.readyMs / 1000, 1)} s (${f(r.cold.readyMs / r.bare.readyMs, 2)}× cold) | ${met(r.cold.readyMs <= 2.5 * r.bare.readyMs)} |
| workerd RSS ≤ 600 MB at ${r.services} services | ${f(r.cold.rssBytes / 1e6, 0)} MB (${f(r.servingRssBytes / 1e6, 0)} MB once every edge served a request) | ${met(r.cold.rssBytes <= 600e6)} |`;
}

// Measured once before issue 22's changes, with this run's scripts, on commit aa7d2e2 (not by this run):
const BEFORE_BUNDLE = `Before the edge validated snapshots with zod/mini and shared one bundle (commit aa7d2e2, same script, not this run): the edge bundle was 927 KiB
unminified, 807 KiB of it zod's full build, one per edge with its snapshot compiled in; a fresh isolate took 51.0 ms to its first answer and held 10.9 MB more.`;
const BEFORE_SCALE = `Before (commit aa7d2e2, same script, not this run): 30 services were ready after 19.8 s cold and 19.3 s warm against 1.2 s for the bare Miniflare,
and workerd held 970 MB (1013 MB serving; the bare Miniflare 394 MB): every edge parsed its own 3.1 MB copy of the bundle with an inline source map.`;

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const met = (ok: boolean) => (ok ? "**met**" : "**not met**");

type Row = { p50: number; cpuUsPerReq: number };
const us = (ms: number) => `${ms >= 0 ? "+" : ""}${f(ms * 1000, 0)} µs`;

/** Inline against edge in this run: what removing the edge's hop saves. */
function inlineNote(pass: Row, direct: Row, edge: Row, mesh: Row, ns?: Row, ewEdge?: Row, ewInline?: Row): string {
  if (!ns || !ewEdge || !ewInline) return "";
  const cpu = (a: Row, b: Row) => us((a.cpuUsPerReq - b.cpuUsPerReq) / 1000);
  return `Inline against edge in this run: north-south ${us(ns.p50 - mesh.p50)} p50 and ${cpu(ns, mesh)} CPU per request (one binding hop fewer); east-west ${us(ewInline.p50 - ewEdge.p50)} p50 and ${cpu(ewInline, ewEdge)} CPU. A bare binding hop itself costs ${us(pass.p50 - direct.p50)} p50 and ${cpu(pass, direct)} CPU (pass-through over direct); the service edge's stages cost ${us(edge.p50 - pass.p50)} p50 and ${cpu(edge, pass)} CPU over it. Inline runs the same stages (one core, \`workers/dataplane/\`), split between the caller's isolate and the callee's, without the edge's hop.`;
}

/** Runs every benchmark and writes BENCHMARKS.md (or only prints, for --smoke in CI). */
export async function runBenchmarks(opts: { smoke: boolean; out: string; command: string }) {
  const log = (s: string) => console.log(s);
  const started = Date.now();
  const p = opts.smoke
    ? {
        rate: 200,
        seconds: 2,
        reps: 1,
        sizes: [100, 1000],
        edges: 10,
        changes: 5,
        batches: 50,
        n: 2000,
        isolates: 3,
        coldReps: 1,
        meshSizes: [5],
        soakRequests: 3000,
        idleSeconds: 3,
      }
    : {
        rate: 500,
        seconds: 8,
        reps: 3,
        sizes: [100, 1000, 10_000],
        edges: 50,
        changes: 40,
        batches: 400,
        n: 20_000,
        isolates: 20,
        coldReps: 3,
        meshSizes: [30, 100],
        soakRequests: 200_000,
        idleSeconds: 30,
      };

  log("hop overhead …");
  const hop = await hopOverhead({ rate: p.rate, seconds: p.seconds, reps: p.reps, log });
  // The ladder in CPU time (the instruction ladders, which take half an hour under valgrind, are recorded in hop-report.ts).
  log("hop ladder …");
  const ladderArgs = opts.smoke ? { requests: 50, runs: 1 } : { requests: 2000, runs: 3 };
  const ladderCommand = `node --import tsx scripts/bench/ladder.ts ${ladderArgs.requests} ${ladderArgs.runs} cpu`;
  const ladder = await hopLadder({ ...ladderArgs, log });
  const profile = opts.smoke ? undefined : await profileWorker({ worker: "app-edge", rate: 400, seconds: 4, top: 15 });
  log("Workers RPC …");
  const rpc = await rpcOverhead({ rate: p.rate, seconds: p.seconds, reps: p.reps, log });
  log("workerd primitives …");
  const ops = await workerdOps();
  log("config scale …");
  const scale = await configScale(p.sizes, log);
  log("propagation …");
  const local = await propagationLocal({ edges: p.edges, changes: p.changes, log });
  const world = propagationWorldwide({
    locations: 300,
    isolatesPerLocation: 20,
    kvDelayMaxS: 60,
    checkIntervalS: 1,
    beaconMaxAgeS: 1,
    seed: 42,
  });
  log(
    `  worldwide (simulated, 300 locations × 20 isolates): p50 ${f(world.p50S, 2)} s, p99 ${f(world.p99S, 2)} s; ConfigStore beacon reads ≈ ${f(world.steadyBeaconReadsPerS, 0)}/s`,
  );
  const beacon = await beaconCost(opts.smoke ? 100 : 2000);
  log(
    `  signed beacon ${beacon.fullBytes} B at most; sign ${f(beacon.signUs, 0)} µs, verify ${f(beacon.verifyUs, 0)} µs (in workerd)`,
  );
  log("telemetry …");
  const tdo = await telemetryDo({ batches: p.batches, seriesPerBatch: 20 });
  const rec = await recorderBench(p.n);
  log(
    `  Telemetry DO absorbs ${f(tdo.flushesPerS, 0)} flushes/s (20 series each); recording costs ${f(rec.observeNs, 0)} ns/request`,
  );
  const tscale = telemetryWorldwide(opts.smoke ? SMOKE_WORLD : INTERNET);
  const busiest = (d: typeof tscale.after) => Math.max(...d.loads.map((l) => l.peakPerS));
  log(
    `  at internet scale (simulated, ${tscale.world.locations} locations × ${tscale.world.isolatesPerLocation} isolates × ${tscale.world.services} services): busiest object ${busiest(tscale.before)}/s before, ${busiest(tscale.after)}/s with collectors`,
  );
  log("JWT, decision records …");
  const jwt = await jwtBench(p.n);
  const rec2 = await decisionRecordBench(p.n);
  log(
    `  JWT cold ${f(jwt.coldUs)} µs, cached ${f(jwt.cachedUs, 2)} µs; route decision ${f(rec2.offNs, 0)} ns without record, ${f(rec2.onNs, 0)} ns with`,
  );
  const norm = await normalizationBench(p.n);
  log(
    `  path normalization ${f(norm.plainNs, 0)} ns (plain), ${f(norm.encodedNs, 0)} ns (encoded); host ${f(norm.hostNs, 0)} ns`,
  );
  const regex = regexBench(p.n);
  log(
    `  route regex ${f(regex.rows[0].linearNs, 0)} ns (RegExp ${f(regex.rows[0].regExpNs, 0)} ns); issue 25's attack on ${regex.inputBytes / 1024} KiB ${f(regex.attackMs, 2)} ms; worst case ${f(regex.worst.ms, 1)} ms`,
  );
  log("edge bundle and cold start …");
  const bundle = edgeBundleComposition();
  log(`  edge bundle ${f(bundle.bytes / 1024)} KiB (gzip ${f(bundle.gzipBytes / 1024)} KiB)`);
  const cold = await edgeColdStart({ isolates: p.isolates, reps: p.coldReps, log });
  log("local mesh at scale …");
  const meshRows = await meshScale(p.meshSizes, log, (n) => (opts.smoke || n > 30 ? 1 : 3));
  const controlMs = await controlIsolateMs(opts.smoke ? 1 : 5);
  log(`  the control plane's isolate adds ${f(controlMs, 0)} ms to workerd's start`);
  log("memory under sustained load …");
  const soaked = await soak({
    requests: p.soakRequests,
    concurrency: 16,
    warmup: 0.25,
    idleSeconds: p.idleSeconds,
    log,
  });

  const row = (name: string) => hop.rows.find((r) => r.name.startsWith(name));
  const direct = row("direct")!,
    pass = row("pass-through")!,
    edge = row("isomesh service edge")!,
    mesh = row("isomesh (")!,
    jwtRow = row("isomesh + JWT"),
    ha = row("HAProxy"),
    inlineNs = row("isomesh inline (gateway"),
    ewEdge = row("east-west edge"),
    ewInline = row("east-west inline");
  const addedP50 = (r: typeof mesh) => r.p50 - direct.p50;
  const small = scale[0],
    large = scale[scale.length - 1];
  const sizeDrift = Math.abs(large.edgeBytes - small.edgeBytes) / small.edgeBytes;

  if (opts.smoke) {
    const failed = [...hop.rows, ...rpc].filter((r) => r.errors > 0).map((r) => `${r.name}: ${r.errors} errors`);
    if (!local.allEdgesConverged) failed.push(`propagation: a change to all ${local.edges} edges did not converge`);
    if (
      !(jwt.cachedUs > 0) ||
      !(rec.observeNs > 0) ||
      !(norm.plainNs > 0) ||
      !(beacon.verifyUs > 0) ||
      !(regex.rows[0].linearNs > 0)
    )
      failed.push("micro-benchmarks returned no figure");
    if (
      !(cold.coldStartMs > 0) ||
      !(bundle.bytes > 0) ||
      !meshRows.every((r) => r.cold.readyMs > 0 && r.cold.rssBytes > 0 && r.bare.readyMs > 0)
    )
      failed.push("edge cold start or mesh scale returned no figure");
    if (tscale.after.loads.some((l) => l.overLimit > 0) || tscale.after.lostRequests || tscale.after.doubleCounted)
      failed.push("telemetry at scale: an object past its limit, or requests lost or counted twice, with collectors");
    const unanswered = Object.entries(soaked.statuses).filter(([code]) => !/^\d+$/.test(code));
    if (unanswered.length || !(soaked.gcMb > 0) || !(soaked.bare.endMb > 0))
      failed.push(`soak: unanswered ${JSON.stringify(Object.fromEntries(unanswered))}, or no RSS figure`);
    if (failed.length) throw new Error(`bench smoke failed: ${failed.join("; ")}`);
    console.log(
      `smoke: ${hop.rows.length} hop configurations, ${scale.length} mesh sizes, propagation over ${local.edges} edges — all ran`,
    );
    return;
  }
  const machine = `${cpus()[0]?.model ?? "?"} (${cpus().length} cores), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${execSync("npx workerd --version 2>/dev/null || true").toString().trim()}`;
  mkdirSync("docs/img", { recursive: true });
  writeFileSync("docs/img/bench-latency.svg", latencySvg(hop.rows));
  const md = `# isomesh benchmarks

Measured on ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC by \`${opts.command}\` (${Math.round((Date.now() - started) / 1000)} s).
Machine: ${machine}. The machine is shared and noisy: compare figures within this run, not across runs.

## Targets

| target | result | |
| --- | --- | --- |
${hopTargetRows(hop.rows)}
| isomesh adds less latency than HAProxy | one isomesh hop +${f(addedP50(edge) * 1000, 0)} µs, the gateway chain +${f(addedP50(mesh) * 1000, 0)} µs, HAProxy ${ha ? `+${f(addedP50(ha) * 1000, 0)} µs` : "not measured"} (p50 over direct) | ${ha ? met(addedP50(edge) < addedP50(ha)) : "not measured"} |
| snapshot per edge independent of mesh size (±10%, ${small.services} → ${large.services} services) | ${small.edgeBytes} B → ${large.edgeBytes} B (${f(sizeDrift * 100)}%) | ${met(sizeDrift <= 0.1)} |
| config memory per edge ≤ 5 MB at ${large.services} services | ${f(large.edgeHeapBytes / 1024)} KiB | ${met(large.edgeHeapBytes <= 5 * 2 ** 20)} |
| propagation p99 ≤ 1 s for ${local.edges} edges | ${f(local.servingP99, 0)} ms | ${met(local.servingP99 <= 1000)} |
| cached JWT check ≤ 2 µs | ${f(jwt.cachedUs, 2)} µs | ${met(jwt.cachedUs <= 2)} |
| production edge bundle ≤ 150 KiB uncompressed | ${f(bundle.bytes / 1024)} KiB (gzip ${f(bundle.gzipBytes / 1024)} KiB), one bundle for every edge | ${met(bundle.bytes <= 150 * 1024)} |
${meshTargets(meshRows)}
| workerd RSS under ${soaked.requests.toLocaleString("en-US")} random requests plateaus within ${PLATEAU_MB} MB of its level after warm-up | ${soaked.peakMb - soaked.warmupMb >= 0 ? "+" : ""}${f(soaked.peakMb - soaked.warmupMb, 0)} MB (${f(soaked.warmupMb, 0)} → highest ${f(soaked.peakMb, 0)} MB); a bare Miniflare under the same requests ${soaked.bare.peakMb - soaked.bare.warmupMb >= 0 ? "+" : ""}${f(soaked.bare.peakMb - soaked.bare.warmupMb, 0)} MB; the mesh's retained JS heap ${soaked.heapAfterMb - soaked.heapBeforeMb >= 0 ? "+" : ""}${f(soaked.heapAfterMb - soaked.heapBeforeMb, 1)} MB (section 12) | ${met(soaked.peakMb - soaked.warmupMb <= PLATEAU_MB)} |
| no Durable Object past ${tscale.world.objectLimitPerS} calls/s at ${tscale.world.locations} locations × ${tscale.world.isolatesPerLocation} isolates × ${tscale.world.services} services (simulated) | busiest ${busiest(tscale.after)}/s with collectors (${busiest(tscale.before)}/s before; section 4) | ${met(tscale.after.loads.every((l) => l.overLimit === 0))} |

## 1. Hop overhead

A 1 KB JSON app, constant rate ${p.rate} req/s for ${p.seconds} s, ${p.reps} repetitions (medians shown); latency is measured from each request's
scheduled send time (open loop, so a stall is charged to every request it delays). CPU is the time of the benchmark's own workerd (and HAProxy) processes divided by requests (other workerd processes on the machine are not counted; every mesh of the run idles meanwhile).
The isomesh row goes gateway → service edge → app: route match, weighted split, retry wrapper and metrics on every request; access logs off and traces sampled at ${TRACE_SAMPLING * 100}% (Istio's default), as a production mesh runs.

| configuration | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | added p50 vs direct | CPU / request | errors |
| --- | --- | --- | --- | --- | --- | --- | --- |
${hop.rows.map((r) => `| ${r.name} | ${f(r.p50, 3)} | ${f(r.p90, 3)} | ${f(r.p99, 3)} | ${f(r.max, 2)} | ${r === direct ? "–" : `+${f((r.p50 - direct.p50) * 1000, 0)} µs`} | ${f(r.cpuUsPerReq, 0)} µs | ${r.errors} |`).join("\n")}

![latency percentiles](docs/img/bench-latency.svg)

Each mesh row is compared with the bare chain of as many binding hops (the targets above): the service edge row (a client
calling a service edge directly, one hop) and the inline rows with the pass-through, the gateway chain (gateway, then the
service's edge) with two pass-throughs in a row.
The inline rows run the same app as a service whose stages run inline (docs/data-plane.md): \`isomesh inline (gateway → app)\` is
one binding hop (the gateway runs the service's outbound half and calls the version), and the two east-west rows are the
pass-through app as a mesh caller (\`env.APP.fetch(request)\`, reached directly) calling the app through its edge (two hops)
or inline (one hop: outbound in the caller's isolate, inbound in the callee's) — the pass-through row is the same call over a bare binding.
${inlineNote(pass, direct, edge, mesh, inlineNs, ewEdge, ewInline)}

${ladderSection(ladder, ladderCommand)}
${
  profile
    ? `A V8 CPU profile of the service edge inside workerd (the hop benchmark's mesh, gateway → app's edge → app at 400 req/s, ${profile.samples} samples;
\`node --import tsx scripts/bench/profile.ts app-edge 400 4\`, which also writes the .cpuprofile for Chrome DevTools). Self time, top ${profile.self.length}
(\`(idle)\` is the isolate waiting; names without a file are the runtime's own: \`fetch\` is the subrequest, \`(program)\` native work outside JS):

| function | self time |
| --- | --- |
${profile.self.map((r) => `| \`${r.fn.replaceAll("|", "\\|")}\` | ${f(r.percent, 1)}% |`).join("\n")}
`
    : ""
}
| workerd primitive (\`scripts/bench/ops.ts\`) | µs per operation |
| --- | --- |
${Object.entries(ops)
  .map(([name, us]) => `| ${name} | ${f(us, 2)} |`)
  .join("\n")}

${jwtRow ? `With a cached JWT check at the gateway the chain's p50 moves by ${f((jwtRow.p50 - mesh.p50) * 1000, 0)} µs: within this machine's noise (the check itself is ${f(jwt.cachedUs, 2)} µs, section 5).` : ""}
${hop.notes.map((n) => `Note: ${n}`).join("\n")}

## 2. Config scale

Synthetic meshes: every service has two versions, a gateway route, a canary route and a TrafficPolicy. "Edge" is one service edge.

| services | edge snapshot | edge heap (parsed + route table) | gateway snapshot | compile one service change | compile one gateway change | rebuild beacon | snapshots republished | Envoy-style full push per sidecar |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${scale.map((r) => `| ${r.services} | ${r.edgeBytes} B | ${f(r.edgeHeapBytes / 1024)} KiB | ${f(r.gatewayBytes / 1024, 0)} KiB | ${f(r.compileMs, 2)} ms | ${f(r.gatewayCompileMs, 0)} ms | ${f(r.publishMs, 2)} ms | ${r.republished} | ≈ ${f((r.services * ENVOY_BYTES_PER_CLUSTER) / 2 ** 20, 0)} MiB |`).join("\n")}

A service edge holds only its own routes and policies, so its snapshot and memory stay flat as the mesh grows; Istio's sidecars hold every
service (≈ 44 KB per cluster, the published figure behind "250–440 MB per sidecar at 10 000 services"). The gateway is the exception by design:
it holds every north-south route, like any ingress; it is one worker, and its snapshot grows linearly (about ${f(large.gatewayBytes / large.services, 0)} B per service).
Heap is measured in Node's V8 (the engine workerd embeds) by parsing and preparing 200 copies; a workerd isolate adds its own fixed overhead.

## 3. Propagation

**Local** (${local.edges} edges running in workerd, ${local.changes} changes, each moving one service to its other version): a change is served through the gateway
after p50 ${f(local.servingP50, 0)} ms / p99 ${f(local.servingP99, 0)} ms; \`apply --wait\` confirms it after p50 ${f(local.confirmedP50, 0)} ms / p99 ${f(local.confirmedP99, 0)} ms.
One change feeding all ${local.allEdgesRepublished} edges converged (every edge confirmed) in ${f(local.allEdgesMs, 0)} ms${local.allEdgesConverged ? "" : " (not converged before the timeout)"}.

**Worldwide** (simulated, \`propagationWorldwide\` in scripts/bench/propagation.ts: ${world.locations} locations × ${world.isolatesPerLocation} isolates, KV visibility delay uniform in 0–${world.kvDelayMaxS} s,
beacon cached per location for ${world.beaconMaxAgeS} s, isolates re-checking every ${world.checkIntervalS} s): every isolate runs the change after p50 ${f(world.p50S, 2)} s, p99 ${f(world.p99S, 2)} s, max ${f(world.maxS, 2)} s;
the ConfigStore serves about ${f(world.steadyBeaconReadsPerS, 0)} beacon reads/s (one per location per max-age) and ${world.snapshotFallbacks} direct snapshot reads where KV lagged.
Overwriting one KV key per edge instead would converge only as KV does: p99 ≈ ${f(world.naiveOverwriteP99S, 0)} s.

**Signed beacons** (\`scripts/bench/beacon.ts\`, in workerd): a beacon is a compact JWS of ${beacon.smallBytes} B for a small mesh and ${beacon.fullBytes} B at most
(every one of the 64 shards named), whatever the mesh size. The control plane signs each one it serves in ${f(beacon.signUs, 0)} µs; an isolate verifies one in
${f(beacon.verifyUs, 0)} µs (its first, reading its keys, ${f(beacon.coldVerifyUs, 0)} µs), at most once per refresh interval and off the request path (\`waitUntil\`).

## 4. Telemetry

One Telemetry Durable Object absorbs ${f(tdo.flushesPerS, 0)} flushes/s of ${tdo.seriesPerBatch} series each (about ${f(tdo.flushesPerS * tdo.seriesPerBatch, 0)} series updates/s; each edge isolate flushes about once a second).
Recording a request in an edge costs ${f(rec.observeNs, 0)} ns (a map update and a histogram bucket, ${f(rec.bucketNs, 0)} ns of which is the bucket search).

### At internet scale (simulated)

${telemetryScaleMarkdown(tscale, "npm run bench")}
## 5. JWT

| | per check | checks / s |
| --- | --- | --- |
| cold (signature verification, ES256) | ${f(jwt.coldUs)} µs | ${f(jwt.coldPerS, 0)} |
| cached (SHA-256 of the token + map lookup) | ${f(jwt.cachedUs, 2)} µs | ${f(jwt.cachedPerS, 0)} |

The cached path is dominated by hashing the token with WebCrypto (asynchronous in Node and workerd).

## 6. Decision records

The route decision on a 1 000-route gateway table costs ${f(rec2.offNs, 0)} ns with no one asking for an explanation and ${f(rec2.onNs, 0)} ns when a request carries a valid
debug token (the explanation also lists every route the winner beat). Without a debug token the only cost is one boolean check per stage.

## 7. Request normalization

Every edge normalizes the path and the host once per request, before any decision (docs/security.md, *Request normalization*). Measured in Node's V8
(the engine workerd embeds), per request:

| | ns | share of the service edge's CPU per request in this run (${f(edge.cpuUsPerReq, 0)} µs) |
| --- | --- | --- |
| plain path (\`/api/v1/products/0\`: the fast path, four string scans) | ${f(norm.plainNs, 0)} | ${f((norm.plainNs / 1000 / edge.cpuUsPerReq) * 100, 3)}% |
| plain path with \`MERGE_SLASHES\` and \`REJECT_REQUEST\` | ${f(norm.plainStrictNs, 0)} | ${f((norm.plainStrictNs / 1000 / edge.cpuUsPerReq) * 100, 3)}% |
| encoded path (\`/%61pi/v1/%70roducts/./x/../%7E0%2f\`: decoding, dot segments) | ${f(norm.encodedNs, 0)} | ${f((norm.encodedNs / 1000 / edge.cpuUsPerReq) * 100, 3)}% |
| host (\`Shop.Example.com.:8787\`) | ${f(norm.hostNs, 0)} | ${f((norm.hostNs / 1000 / edge.cpuUsPerReq) * 100, 3)}% |

The hop rows of section 1 include it (every request there is normalized): an ordinary request pays the plain-path row, about
1 / ${f((edge.cpuUsPerReq * 1000) / norm.plainNs, 0)} of the hop's CPU, far below this machine's ±15 µs of noise on the hop itself.

## 8. Edge bundle and cold start

Every edge (the gateway, each service edge, the egress edge) runs one bundle, built once by \`isomesh gen\` and uploaded as is
(\`no_bundle\`); each edge's config adds only its bootstrap snapshot as a text module. It is minified with names kept, its source map
a file beside it. What it holds (esbuild's metafile, bytes in the minified output):

| part | bytes | share |
| --- | --- | --- |
${bundle.parts.map((p) => `| ${p.part} | ${p.bytes} | ${f((p.bytes / bundle.bytes) * 100, 0)}% |`).join("\n")}
| whole bundle | ${bundle.bytes} (gzip ${bundle.gzipBytes}) | |

Cold start of one edge isolate (\`scripts/bench/edge-cold-start.ts\`: the modules \`isomesh deploy --dry-run\` builds for a service edge,
loaded into ${p.isolates} fresh isolates at once beside as many trivial workers, ${p.coldReps} repetitions, medians): workerd's start costs
${f(cold.startMsPerIsolate)} ms more per edge isolate than per trivial one (compiling and evaluating the bundle), and the first request on a fresh
isolate (validating the bootstrap snapshot, building the pipeline, calling the app) takes ${f(cold.firstAnswerMs)} ms against ${f(cold.trivialFirstAnswerMs)} ms for a
trivial worker: **${f(cold.coldStartMs)} ms from a fresh isolate to its first answer**, beyond a trivial worker's; each edge isolate holds ${f(cold.rssBytesPerIsolate / 1e6)} MB more.
${BEFORE_BUNDLE}

## 9. Local mesh at scale

\`isomesh dev\` on a manifest of N services (two echo versions each, each calling the next; \`scripts/bench/mesh-scale.ts\`), timed from spawning the
process to its ready line: cold (a fresh state folder, everything bundled) and warm (a restart on the same state), beside a bare Miniflare
starting as many trivial workers (\`scripts/bench/bare-miniflare.ts\`, also from spawning it), alternating (cold, warm, bare) ${meshRows[0]?.reps === 3 ? "three times at 30 services, once at 100; medians" : "once"}.
RSS is workerd's, from /proc, once ready and once every edge has answered a request through the gateway (MB = 10⁶ bytes).

| services | workers | ready cold | ready warm | bare Miniflare | cold / bare | workerd RSS | serving | bare RSS | per service: ready (warm), RSS |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${meshRows.map((r) => `| ${r.services} | ${r.workers} | ${f(r.cold.readyMs / 1000, 1)} s | ${f(r.warm.readyMs / 1000, 1)} s | ${f(r.bare.readyMs / 1000, 1)} s | ${f(r.cold.readyMs / r.bare.readyMs, 2)}× | ${f(r.cold.rssBytes / 1e6, 0)} MB | ${f(r.servingRssBytes / 1e6, 0)} MB | ${f(r.bare.rssBytes / 1e6, 0)} MB | ${f(r.warm.readyMs / r.services, 0)} ms, ${f(r.cold.rssBytes / 1e6 / r.services, 1)} MB |`).join("\n")}

Where the rest goes, from this run. A warm start in process (startMesh's own timings, the start \`isomesh dev\` makes), beside a bare Miniflare's
workerd start with as many trivial workers in the same process:

| services | generate configs and bootstrap snapshots | bundle and convert every worker's config | workerd start | bare workerd start |
| --- | --- | --- | --- | --- |
${meshRows.map((r) => `| ${r.services} | ${f(r.phases.generateMs, 0)} ms | ${f(r.phases.workersMs, 0)} ms | ${f(r.phases.workerdMs, 0)} ms | ${f(r.phases.bareWorkerdMs, 0)} ms |`).join("\n")}

workerd starts every worker's isolate when it starts, so its start beyond the bare one is what each isolate compiles and evaluates at its
top level: the control plane's isolate about ${f(controlMs, 0)} ms (the admin API's full zod schemas and their messages, yaml, hono, the dashboard: it keeps
them, the edges do not), each edge about ${f(cold.startMsPerIsolate)} ms and ${f(cold.rssBytesPerIsolate / 1e6)} MB (section 8), and each app's small bundle behind the dev entry guard.
Before workerd runs, Miniflare serializes its config in Node, and that config embeds every worker's modules: each edge adds its bundle
(section 8) where a trivial worker adds a line, and the serialization grows faster than the config (its single-segment buffer grows 4 KiB at a
time, copying itself), which is why the 100-service start is further from the bare one than the 30-service start (a CPU profile of a warm
100-service start, \`node --cpu-prof\`, puts about half of Node's CPU there). A spawned \`isomesh dev\` also loads wrangler (its config reader and
the config → Miniflare conversion, about half a second), which a bare Miniflare does not.
${BEFORE_SCALE}
## 10. Workers RPC

One RPC call (\`await env.APP.get(1)\`, a ~1 KB object back) made by the same caller Worker over a bare service binding to the app and
over the mesh's binding (through the app's edge: routing, policy, the retry loop and telemetry, as for fetch), then the same caller's
fetch both ways. Same load as section 1 (${p.rate} req/s for ${p.seconds} s, ${p.reps} repetitions, medians); each request reaches the caller over HTTP,
so every row carries that hop too: compare rows with each other.

| configuration | p50 (ms) | p90 (ms) | p99 (ms) | CPU / request | errors |
| --- | --- | --- | --- | --- | --- |
${rpc.map((r) => `| ${r.name} | ${f(r.p50, 3)} | ${f(r.p90, 3)} | ${f(r.p99, 3)} | ${f(r.cpuUsPerReq, 0)} µs | ${r.errors} |`).join("\n")}

${rpcNote(rpc)}

## 11. Route regular expressions

Every RegularExpression match (path, header, query, RPC method, fault injection) runs on a linear-time engine: RE2 (re2js) compiles
the pattern in the control plane and the snapshot carries its program; the edge runs it with a small lazy DFA over RE2's NFA
(\`shared/regex/\`). Measured in Node's V8 (the engine workerd embeds), per match, against the backtracking RegExp the edge ran before:

| pattern | input | matches | linear-time engine | RegExp (before) |
| --- | --- | --- | --- | --- |
${regex.rows.map((r) => `| \`${r.source.replaceAll("|", "\\|")}\` | \`${r.input}\` | ${r.matches ? "yes" : "no"} | ${f(r.linearNs, 0)} ns | ${f(r.regExpNs, 0)} ns |`).join("\n")}

What RegExp cannot survive: issue 25's attack, \`^(a|aa)+$\` on ${regex.inputBytes / 1024} KiB of \`a\` and a \`!\`, takes ${f(regex.attackMs, 2)} ms; RegExp takes
${f(regex.backtrackingAttackMs, 0)} ms on 32 \`a\`s, and about 1.6 times as long for each one more. The engine's worst case, the largest program the
control plane accepts (\`${regex.worst.source}\`, ${regex.worst.instructions} instructions, an exponential DFA, so every step runs the NFA) on ${regex.inputBytes / 1024} KiB
of random \`a\`/\`b\`, takes ${f(regex.worst.ms, 1)} ms: the cost is at most linear in the input times the instructions, and apply refuses a
pattern of more than ${regex.worst.instructions} instructions.

## 12. Memory under sustained load

${soakMarkdown(soaked, "npm run bench")}

## Rerun

\`\`\`sh
npm run bench             # the full run (the soak of section 12 is most of it), rewrites this file and docs/img/bench-latency.svg
npm run bench -- --smoke  # a short run that checks the harness works (CI)
\`\`\`
`;
  const previous = existsSync(opts.out) ? readFileSync(opts.out, "utf8") : "";
  const commit = execSync("git rev-parse --short HEAD").toString().trim();
  writeFileSync(
    opts.out,
    `${md}\n${historySection(previous, new Date(started).toISOString().slice(0, 10), commit, hop.rows)}`,
  );
  console.log(`wrote ${opts.out}`);
}

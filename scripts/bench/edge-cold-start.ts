import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, type WorkerOptions } from "miniflare";
import { REPO_ROOT } from "../lib/paths.ts";
import { versionBinding } from "../../shared/names.ts";
import { rssBelow } from "./process-tree.ts";
import { readKeyFile, signingKey } from "../lib/beacon-keys.ts";
import type { SigningJwk } from "../../shared/snapshot/signature.ts";

// Cold start of one edge isolate: what `isomesh deploy --dry-run` builds for a service edge (the
// modules wrangler would upload), loaded into `isolates` fresh workerd isolates at once, beside as
// many trivial workers. The difference in workerd's start is the edge's own compile and top-level
// evaluation; the first request on each fresh isolate adds validating the bootstrap snapshot and
// building the pipeline. Each edge's control plane is a stub whose beacon names no snapshot, so the
// edge serves its bootstrap (as a cold isolate does when nothing newer is published); the stub signs
// that beacon with the mesh's key, so the first check costs what it costs in production (a verification).

export type EdgeColdStart = {
  bundleBytes: number;
  modules: string[];
  /** workerd start per isolate beyond a trivial worker's (compile + evaluate the bundle). */
  startMsPerIsolate: number;
  /** The first request on a fresh isolate (median), and the same for a trivial worker. */
  firstAnswerMs: number;
  trivialFirstAnswerMs: number;
  /** Fresh isolate → first answer: start share + first request, beyond a trivial worker. */
  coldStartMs: number;
  rssBytesPerIsolate: number;
};

/** A control plane that serves version 0, signed as shared/snapshot/signature.ts signs (a compact JWS, EdDSA). */
const control = (jwk: SigningJwk) => `import { WorkerEntrypoint } from "cloudflare:workers";
const JWK = ${JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d })};
const enc = (s) => new TextEncoder().encode(s);
const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
let key;
export class MeshControl extends WorkerEntrypoint {
  async beacon() {
    key ??= await crypto.subtle.importKey("jwk", JWK, { name: "Ed25519" }, false, ["sign"]);
    const header = b64(enc(JSON.stringify({ alg: "EdDSA", kid: ${JSON.stringify(jwk.kid)}, typ: "isomesh-beacon+jws" })));
    const claims = b64(enc(JSON.stringify({ version: 0, shards: Array.from({ length: 64 }, () => ""), mesh: "cold", issuedAt: Date.now() })));
    return header + "." + claims + "." + b64(await crypto.subtle.sign("Ed25519", key, enc(header + "." + claims)));
  }
  snapshot() { return null; }
  report() {}
  verifyDebugToken() { return false; }
}
export default { fetch() { return new Response("control"); } };`;
const TRIVIAL = `export default { fetch() { return new Response("ok"); } };`;

/** The modules wrangler would upload for this Worker (its --outdir): JavaScript and text modules. */
function uploadedModules(dir: string) {
  return readdirSync(dir)
    .filter((f) => /\.(m?js|txt|html|snapshot)$/.test(f) && statSync(join(dir, f)).isFile())
    .map((f) => ({
      type: /\.m?js$/.test(f) ? ("ESModule" as const) : ("Text" as const),
      path: join(dir, f),
      contents: readFileSync(join(dir, f), "utf8"),
    }))
    .sort((a, b) => Number(b.path.endsWith("index.js")) - Number(a.path.endsWith("index.js"))); // the entry first
}

async function startTimed(workers: WorkerOptions[]) {
  const started = performance.now();
  const mf = new Miniflare({ cf: false, workers });
  await mf.ready;
  return { mf, startMs: performance.now() - started };
}

async function firstAnswers(mf: Miniflare, names: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const name of names) {
    const worker = await mf.getWorker(name);
    const t0 = performance.now();
    const res = await worker.fetch("http://web.example/");
    await res.arrayBuffer();
    out.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function edgeColdStart(opts: {
  isolates: number;
  reps: number;
  log: (s: string) => void;
}): Promise<EdgeColdStart> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-cold-"));
  try {
    writeFileSync(
      join(dir, "mesh.yaml"),
      "name: cold\nservices:\n  - name: web\n    versions: [{ name: v1, echo: true }]\n",
    );
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, "scripts/isomesh.mjs"),
        "deploy",
        "--dry-run",
        "-m",
        join(dir, "mesh.yaml"),
        "--out",
        join(dir, "gen"),
      ],
      { cwd: REPO_ROOT, stdio: "ignore", env: { ...process.env, NO_COLOR: "1" } },
    );
    const edgeDir = join(dir, "dist", "cold-web-edge");
    const modules = uploadedModules(edgeDir);
    const config = JSON.parse(readFileSync(join(dir, "gen", "cold-web-edge", "wrangler.json"), "utf8")) as {
      vars: Record<string, string>;
      compatibility_date: string;
      compatibility_flags: string[];
    };
    const common = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags };
    const support: WorkerOptions[] = [
      { name: "app", modules: true, script: TRIVIAL, ...common },
      {
        name: "cold-control",
        modules: true,
        script: control(signingKey(readKeyFile(join(dir, "keys", "cold.json")))),
        ...common,
      },
    ];
    const edges = Array.from({ length: opts.isolates }, (_, i): WorkerOptions => ({
      name: `edge${i}`,
      modules: modules.map((m) => ({ ...m })),
      modulesRoot: edgeDir,
      ...common,
      bindings: { ...config.vars, ACCESS_LOG: "off" },
      kvNamespaces: { SNAPSHOTS: "snapshots" },
      serviceBindings: { CONTROL: { name: "cold-control", entrypoint: "MeshControl" }, [versionBinding("v1")]: "app" },
    }));
    const trivials = edges.map((e): WorkerOptions => ({ name: e.name, modules: true, script: TRIVIAL, ...common }));
    const starts = { edge: [] as number[], trivial: [] as number[] };
    const answers = { edge: [] as number[], trivial: [] as number[] };
    const rss = { edge: [] as number[], trivial: [] as number[] };
    for (let r = 0; r < opts.reps; r++) {
      for (const kind of ["trivial", "edge"] as const) {
        const { mf, startMs } = await startTimed([...support, ...(kind === "edge" ? edges : trivials)]);
        try {
          starts[kind].push(startMs);
          answers[kind].push(
            ...(await firstAnswers(
              mf,
              edges.map((e) => e.name!),
            )),
          );
          rss[kind].push(rssBelow(process.pid, "workerd"));
        } finally {
          await mf.dispose();
        }
      }
    }
    const startMsPerIsolate = (median(starts.edge) - median(starts.trivial)) / opts.isolates;
    const firstAnswerMs = median(answers.edge);
    const trivialFirstAnswerMs = median(answers.trivial);
    const out: EdgeColdStart = {
      bundleBytes: modules.filter((m) => m.type === "ESModule").reduce((n, m) => n + Buffer.byteLength(m.contents), 0),
      modules: modules.map((m) => m.path.slice(edgeDir.length + 1)),
      startMsPerIsolate,
      firstAnswerMs,
      trivialFirstAnswerMs,
      coldStartMs: startMsPerIsolate + firstAnswerMs - trivialFirstAnswerMs,
      rssBytesPerIsolate: (median(rss.edge) - median(rss.trivial)) / opts.isolates,
    };
    opts.log(
      `  edge bundle ${(out.bundleBytes / 1024).toFixed(0)} KiB (${out.modules.join(", ")}): cold start ${out.coldStartMs.toFixed(1)} ms per isolate (start ${out.startMsPerIsolate.toFixed(1)} ms + first answer ${firstAnswerMs.toFixed(1)} ms vs ${trivialFirstAnswerMs.toFixed(1)} ms trivial), ${(out.rssBytesPerIsolate / 2 ** 20).toFixed(1)} MiB per isolate`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  await edgeColdStart({
    isolates: Number(process.argv[2] ?? 20),
    reps: Number(process.argv[3] ?? 3),
    log: console.log,
  });

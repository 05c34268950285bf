import { type ChildProcess, execSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../lib/bundle.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { startMesh } from "../lib/runtime.ts";
import { cpuSecondsOf } from "./cpu.ts";
import { constantRate, median, percentile } from "./load.ts";

/** Traces recorded per new request in the benchmark mesh: Istio's default (1%); metrics count every request. */
export const TRACE_SAMPLING = 0.01;

export type HopRow = {
  name: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  cpuUsPerReq: number;
  errors: number;
  samples: number[];
};
export type Target = { name: string; url: string; headers?: Record<string, string>; processes: string[] };

/** Open-loop load on one target, `reps` times (medians of the percentiles, CPU of the named processes per request). */
export async function measureTarget(
  t: Target,
  opts: { rate: number; seconds: number; reps: number; log: (s: string) => void },
): Promise<HopRow> {
  await constantRate(t.url, { rate: opts.rate, seconds: 1, headers: t.headers }); // warm up
  const reps: { p50: number; p90: number; p99: number; max: number; cpu: number; errors: number; lat: number[] }[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const cpu0 = t.processes.reduce((a, p) => a + cpuSecondsOf(p), 0);
    const r = await constantRate(t.url, { rate: opts.rate, seconds: opts.seconds, headers: t.headers });
    const cpu = t.processes.reduce((a, p) => a + cpuSecondsOf(p), 0) - cpu0;
    const s = [...r.latenciesMs].sort((a, b) => a - b);
    reps.push({
      p50: percentile(s, 0.5),
      p90: percentile(s, 0.9),
      p99: percentile(s, 0.99),
      max: s[s.length - 1],
      cpu: (cpu * 1e6) / r.sent,
      errors: r.errors,
      lat: s,
    });
  }
  const row: HopRow = {
    name: t.name,
    p50: median(reps.map((r) => r.p50)),
    p90: median(reps.map((r) => r.p90)),
    p99: median(reps.map((r) => r.p99)),
    max: median(reps.map((r) => r.max)),
    cpuUsPerReq: median(reps.map((r) => r.cpu)),
    errors: reps.reduce((a, r) => a + r.errors, 0),
    samples: reps[Math.floor(reps.length / 2)].lat,
  };
  opts.log(
    `  ${t.name}: p50 ${row.p50.toFixed(3)} ms, p99 ${row.p99.toFixed(3)} ms, ${row.cpuUsPerReq.toFixed(0)} µs CPU/req, ${row.errors} errors`,
  );
  return row;
}

const freePort = async () => {
  const { createServer } = await import("node:net");
  return new Promise<number>((r) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
};

/** Resolves once something accepts TCP connections on the port, or with false when `gone` says the listener died. */
async function listening(port: number, gone: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const { connect } = await import("node:net");
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !gone()) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, "127.0.0.1", () => (s.destroy(), r(true))).on("error", () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * HAProxy cannot bind port 0 and tell us the port it got, so this is the one place that picks a
 * free port for someone else: another process may take it first, so a failed bind is retried on
 * a new port rather than racing the benchmark.
 */
async function startHaproxy(
  bin: string,
  dir: string,
  backendPort: number,
): Promise<{ proc: ChildProcess; port: number } | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(
      cfg,
      `global\n  maxconn 4096\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  http-reuse always\nfrontend in\n  bind 127.0.0.1:${port}\n  acl is_app path_beg /app\n  use_backend app if is_app\nbackend app\n  server s1 127.0.0.1:${backendPort}\n`,
    );
    const proc = spawn(bin, ["-f", cfg, "-db"], { stdio: "ignore" });
    let exited = false;
    proc.on("exit", () => (exited = true));
    if (await listening(port, () => exited)) return { proc, port };
    proc.kill();
  }
  return undefined;
}

/** HAProxy from Debian, installed on first use when we are root (CI); undefined when unavailable. */
function haproxyBinary(): string | undefined {
  const which = () => execSync("command -v haproxy || true", { shell: "/bin/bash" }).toString().trim() || undefined;
  let bin = which();
  if (!bin && process.getuid?.() === 0) {
    try {
      execSync(
        "apt-get install -y -qq haproxy >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq haproxy >/dev/null 2>&1)",
        { shell: "/bin/bash", stdio: "ignore", timeout: 300_000 },
      );
    } catch {}
    bin = which();
  }
  return bin;
}

/**
 * The same 1 KB JSON app served directly, behind a bare pass-through binding hop, behind isomesh
 * (gateway → edge → app, with and without a cached JWT check), the inline data plane (gateway →
 * app; an app's east-west call, against the same call through the app's edge) and behind HAProxy.
 */
export async function hopOverhead(opts: {
  rate: number;
  seconds: number;
  reps: number;
  log: (s: string) => void;
  only?: string[];
}): Promise<{ rows: HopRow[]; notes: string[] }> {
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "isomesh-bench-"));
  const app = resolve(REPO_ROOT, "scripts/bench/workers/app.ts");
  const [appScript, passScript] = await Promise.all([
    bundleWorker(app, undefined, dir),
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/passthrough.ts"), undefined, dir),
  ]);
  const mf = new Miniflare({
    cf: false,
    workers: [
      {
        name: "app",
        modules: true,
        modulesRoot: dir,
        scriptPath: appScript,
        compatibilityDate: "2025-04-01",
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
      {
        name: "passthrough",
        modules: true,
        modulesRoot: dir,
        scriptPath: passScript,
        compatibilityDate: "2025-04-01",
        serviceBindings: { APP: "app" },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
      // The bare chain with as many binding hops as gateway → edge → app.
      {
        name: "passthrough2",
        modules: true,
        modulesRoot: dir,
        scriptPath: passScript,
        compatibilityDate: "2025-04-01",
        serviceBindings: { APP: "passthrough" },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
    ],
  });
  await mf.ready;
  // Every port here is picked by workerd (port 0) and read back: a probed port can be taken by another process before we bind it.
  const directUrl = (await mf.unsafeGetDirectURL("app")).origin;
  const passUrl = (await mf.unsafeGetDirectURL("passthrough")).origin;
  const pass2Url = (await mf.unsafeGetDirectURL("passthrough2")).origin;
  const directPort = Number(new URL(directUrl).port);

  // `front` is the pass-through app as a mesh caller (env.APP.fetch(request)), reached directly: the
  // east-west call it makes is what is measured. In the inline mesh, `app` runs inline and `front`
  // (edge mode, so it needs no props to be reached here) gets app's client in its env.
  const pass = resolve(REPO_ROOT, "scripts/bench/workers/passthrough.ts");
  const manifest = (dataPlane: string) =>
    `name: bench\nservices:\n  - name: app\n    dataPlane: ${dataPlane}\n    versions: [{ name: v1, worker: ${app} }]\n  - name: front\n    dataPlane: edge\n    versions: [{ name: v1, worker: ${pass} }]\n    calls: [app]\n`;
  const start = async (dataPlane: "edge" | "inline") => {
    const folder = join(dir, dataPlane);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "mesh.yaml"), manifest(dataPlane));
    return startMesh({
      manifestPath: join(folder, "mesh.yaml"),
      port: 0,
      stateDir: join(folder, "state"),
      adminToken: "bench-token-0123456789",
      persist: false,
      gen: { accessLog: "off", traceSampling: TRACE_SAMPLING },
      onLog: () => {},
      expose: { ...(dataPlane === "edge" ? { "app-edge": 0 } : {}), "front-v1": 0 },
    });
  };
  const mesh = await start("edge");
  const inline = await start("inline");
  const edgeUrl = (await mesh.miniflare.unsafeGetDirectURL(mesh.workerName("app-edge"))).origin;
  const frontUrl = (await mesh.miniflare.unsafeGetDirectURL(mesh.workerName("front-v1"))).origin;
  const inlineFrontUrl = (await inline.miniflare.unsafeGetDirectURL(inline.workerName("front-v1"))).origin;
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "b", alg: "ES256" }] });
  const apply = async (body: string, on = mesh) => {
    const res = await fetch(`${on.adminUrl}/v1/apply?wait=true`, {
      method: "POST",
      headers: { authorization: "Bearer bench-token-0123456789" },
      body,
    });
    if (!res.ok) throw new Error(`bench apply failed: ${await res.text()}`);
  };
  const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: app }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /app } }]
      backendRefs: [{ name: app }]
      retry: { codes: [503], attempts: 1 }
`;
  await apply(route);
  await apply(route, inline);
  const token = await new SignJWT({ sub: "bench", aud: "bench" })
    .setProtectedHeader({ alg: "ES256", kid: "b" })
    .setIssuer("https://bench")
    .setExpirationTime("2h")
    .sign(privateKey);

  const haBin = haproxyBinary();
  const ha = haBin ? await startHaproxy(haBin, dir, directPort) : undefined;
  if (!haBin)
    notes.push("HAProxy is not installed and could not be installed (not root or no apt): its row is missing.");
  else if (!ha) notes.push("HAProxy did not start listening (five tries): its row is missing.");

  const targets: Target[] = [
    { name: "direct", url: `${directUrl}/app`, processes: ["workerd"] },
    { name: "pass-through binding hop", url: `${passUrl}/app`, processes: ["workerd"] },
    { name: "two pass-through binding hops", url: `${pass2Url}/app`, processes: ["workerd"] },
    { name: "isomesh service edge (edge → app)", url: `${edgeUrl}/app`, processes: ["workerd"] },
    { name: "isomesh (gateway → edge → app)", url: `${mesh.gatewayUrl}/app`, processes: ["workerd"] },
    { name: "isomesh inline (gateway → app)", url: `${inline.gatewayUrl}/app`, processes: ["workerd"] },
    { name: "east-west edge (app → edge → app)", url: `${frontUrl}/app`, processes: ["workerd"] },
    { name: "east-west inline (app → app)", url: `${inlineFrontUrl}/app`, processes: ["workerd"] },
    ...(ha
      ? [{ name: "HAProxy → app", url: `http://127.0.0.1:${ha.port}/app`, processes: ["workerd", "haproxy"] }]
      : []),
  ];
  const rows: HopRow[] = [];
  const measure = async (t: Target) => rows.push(await measureTarget(t, opts));
  const wanted = (name: string) => !opts.only || opts.only.some((prefix) => name.startsWith(prefix));
  for (const t of targets) if (wanted(t.name)) await measure(t);
  // The same mesh with a RequestAuthentication at the gateway, every request carrying one (cached) token.
  if (wanted("isomesh + JWT")) {
    await apply(`apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: bench }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  jwtRules: [{ issuer: "https://bench", audiences: [bench], jwks: '${jwks}' }]
`);
    await measure({
      name: "isomesh + JWT (cached)",
      url: `${mesh.gatewayUrl}/app`,
      headers: { authorization: `Bearer ${token}` },
      processes: ["workerd"],
    });
  }

  ha?.proc.kill();
  await inline.dispose();
  await mesh.dispose();
  await mf.dispose();
  return { rows, notes };
}

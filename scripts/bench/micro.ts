import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { bucketIndex, emptyBuckets } from "../../shared/histogram.ts";
import { JwtVerifier, TokenCache } from "../../shared/security/jwt.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { normalizeHost } from "../../shared/routing/host.ts";
import { normalizePath } from "../../shared/routing/normalize-path.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { TelemetryRecorder } from "../../workers/dataplane/telemetry/recorder.ts";
import { syntheticMesh } from "../lib/synthetic-mesh.ts";

/** ns per call of `fn`, the median of 5 timed batches after a warm-up. */
async function nsPerOp(fn: () => unknown, n: number): Promise<number> {
  for (let i = 0; i < Math.min(n, 2000); i++) await fn();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    runs.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return runs.sort((a, b) => a - b)[2];
}

export async function jwtBench(n: number) {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" };
  const rule = {
    policy: "b",
    issuer: "https://i",
    audiences: ["a"],
    jwks: [jwk] as Record<string, unknown>[],
    fromHeaders: [],
    fromParams: [],
    forwardOriginalToken: false,
    outputClaimToHeaders: [],
    clockSkewSeconds: 60,
    requireExpiration: false,
  };
  const token = await new SignJWT({ sub: "u", aud: "a" })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .setIssuer("https://i")
    .setExpirationTime("1h")
    .sign(privateKey);
  const cached = new JwtVerifier([rule], { fetcher: async () => new Response(), cache: new TokenCache() });
  await cached.verify(token);
  const cachedNs = await nsPerOp(() => cached.verify(token), n);
  const coldNs = await nsPerOp(
    () => new JwtVerifier([rule], { fetcher: async () => new Response(), cache: new TokenCache() }).verify(token),
    Math.max(200, n / 20),
  );
  return { cachedUs: cachedNs / 1000, coldUs: coldNs / 1000, cachedPerS: 1e9 / cachedNs, coldPerS: 1e9 / coldNs };
}

export async function recorderBench(n: number) {
  const r = new TelemetryRecorder();
  const flags: string[] = [];
  let i = 0;
  const observeNs = await nsPerOp(
    () =>
      r.observe({
        reporter: "e",
        source: "a",
        destination: "b",
        version: `v${i++ % 3}`,
        route: "r",
        code: 200,
        durationMs: (i % 50) + 0.5,
        retries: 0,
        flags,
      }),
    n,
  );
  const buckets = emptyBuckets();
  const bucketNs = await nsPerOp(() => buckets[bucketIndex((i++ % 500) + 0.3)]++, n);
  return { observeNs, bucketNs };
}

/** The route stage's work with the decision record off and on, on a 1000-service gateway table. */
export async function decisionRecordBench(n: number) {
  const { topology, resources } = syntheticMesh(1000);
  const table = new RouteTable(compileSnapshot(topology, "gateway", resources, 1).vhosts);
  const facts = factsOf(
    "GET",
    new URL("http://svc-00500.example.com/x"),
    new Headers({ host: "svc-00500.example.com" }),
  );
  const run = (log: DecisionLog) => {
    const m = table.match(facts);
    if (log.on) log.note("route", `matched ${m?.route}`, { beat: table.candidates(facts).length });
  };
  const offNs = await nsPerOp(() => run(NO_RECORD), n);
  const onNs = await nsPerOp(() => run(new DecisionLog(true)), n);
  return { offNs, onNs };
}

/**
 * What request normalization costs an edge per request (the normalize stage and the facts' host),
 * on a plain path (the fast path every ordinary request takes) and on an encoded one.
 */
export async function normalizationBench(n: number) {
  const merge = { mergeSlashes: true, escapedSlashes: "reject" } as const;
  const plainNs = await nsPerOp(() => normalizePath("/api/v1/products/0"), n);
  const plainStrictNs = await nsPerOp(() => normalizePath("/api/v1/products/0", merge), n);
  const encodedNs = await nsPerOp(() => normalizePath("/%61pi/v1/%70roducts/./x/../%7E0%2f"), n);
  const hostNs = await nsPerOp(() => normalizeHost("Shop.Example.com.:8787"), n);
  return { plainNs, plainStrictNs, encodedNs, hostNs };
}

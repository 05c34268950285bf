import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's prometheus package (what .ci/run installs for promtool): the server and its linter. */
export const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
export const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));

export type PrometheusServer = {
  url: string;
  /** An instant PromQL query's result vector. */
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The scrape targets as the server sees them (health, lastError, …). */
  targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string; lastScrape: string }[]>;
  /** What the scrape manager logged as a warning or error (a scrape that failed, samples it dropped). */
  scrapeProblems(): string[];
  stop(): Promise<void>;
};

/**
 * A real Prometheus server scraping `target` (an admin API's `/metrics`, with its bearer token)
 * every second, on loopback, on a port it binds itself (`:0`) and prints: the port is read back
 * from its log, never probed. Its config and TSDB live in a temporary folder removed on stop.
 */
export async function startPrometheus(target: { url: string; token: string }): Promise<PrometheusServer> {
  if (!PROMETHEUS) throw new Error("no prometheus binary (apt-get install prometheus)");
  const dir = mkdtempSync(join(tmpdir(), "isomesh-prometheus-"));
  const { host } = new URL(target.url);
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: isomesh
    metrics_path: /metrics
    authorization: { credentials: "${target.token}" }
    static_configs: [{ targets: ["${host}"] }]
`,
  );
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      "--web.listen-address=127.0.0.1:0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prometheus did not listen in 30 s:\n${log}`)), 30_000);
    const read = (d: Buffer) => {
      log += d.toString();
      const m = /msg="Listening on" address=(127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    proc.stdout!.on("data", read);
    proc.stderr!.on("data", read);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`prometheus exited:\n${log}`));
    });
  });
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (q) => (await api<{ result: [] }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result,
    scrapeProblems: () =>
      log.split("\n").filter((l) => /component="scrape manager"/.test(l) && /level=(warn|error)/.test(l)),
    targets: async () => (await api<{ activeTargets: [] }>("/api/v1/targets")).activeTargets,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

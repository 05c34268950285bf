import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { startMesh } from "../../lib/runtime.ts";
import { loadDefaults, loadManifest } from "../../lib/gen.ts";
import { LogLevel } from "miniflare";
import { AdminClient, CliError } from "../client.ts";
import { c } from "../output.ts";
import {
  DATA_PLANE_OPTION,
  dataPlaneOption,
  MANIFEST_OPTION,
  manifestPath,
  samplingRate,
  accessLogMode,
  ACCESS_LOG_OPTION,
} from "../options.ts";

/** Where each mesh's state folder goes by default: `.isomesh/<mesh name>`. */
const STATE_ROOT = ".isomesh";

type DevOptions = {
  manifest?: string;
  port: string;
  adminPort?: string;
  state?: string;
  adminToken?: string;
  otlp?: string;
  accessLog: string;
  traceSampling: string;
  dataPlane?: string;
};

/** The dev token is kept in the state folder so a restart keeps the same one. */
function devToken(state: string, given?: string): { token: string; generated: boolean } {
  if (given) return { token: given, generated: false };
  const file = join(state, "admin-token");
  if (existsSync(file)) return { token: readFileSync(file, "utf8").trim(), generated: true };
  mkdirSync(state, { recursive: true });
  const token = `dev-${randomBytes(18).toString("base64url")}`;
  writeFileSync(file, token + "\n", { mode: 0o600 });
  return { token, generated: true };
}

/** workerd's fatal bind error and its stack: Miniflare's error says the same in one line. */
function withoutBindFailure(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/Fatal uncaught kj::Exception.*Address already in use/.test(lines[i])) {
      if (lines[i + 1]?.startsWith("stack:")) i++;
      continue;
    }
    out.push(lines[i]);
  }
  return out;
}

/** Names the flag that moves the port that is taken. */
function portHint(message: string, port: number, adminPort: number): string {
  if (!/Address already in use/.test(message)) return message;
  const taken = message.includes(`:${adminPort})`)
    ? { port: adminPort, flag: "--admin-port" }
    : { port, flag: "--port" };
  return `port ${taken.port} is already in use (is another isomesh dev running?); choose another with ${taken.flag}`;
}

function portOption(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`${flag} must be a port number (0-65535, 0 for any free port), not "${value}"`);
  return n;
}

export function registerDev(program: Command) {
  program
    .command("dev")
    .description("run the whole mesh of a manifest locally on workerd")
    .option(...MANIFEST_OPTION)
    .option("-p, --port <port>", "gateway port (0: any free port)", "8787")
    .option("--admin-port <port>", "admin API port (default: port + 1; any free port when --port is 0)")
    .option("--state <dir>", "state folder (config, telemetry, generated configs; default: .isomesh/<mesh name>)")
    .option("--admin-token <token>", "editor token for the admin API (default: generated, kept in the state folder)")
    .option("--otlp <url>", "export spans as OTLP/HTTP JSON to this collector")
    .option(...ACCESS_LOG_OPTION)
    .option("--trace-sampling <rate>", "share of new traces recorded as spans, 0..1", "1")
    .option(...DATA_PLANE_OPTION)
    .action(async (o: DevOptions) => {
      const manifestFile = manifestPath(o.manifest);
      const port = portOption(o.port, "--port");
      const adminPort = o.adminPort ? portOption(o.adminPort, "--admin-port") : undefined;
      const manifest = loadManifest(manifestFile);
      // Each mesh has its own state (DESIGN §3): two manifests never share a config store.
      const state = o.state ?? join(STATE_ROOT, manifest.name);
      if (o.state === undefined && existsSync(join(STATE_ROOT, "v3")))
        process.stdout.write(
          c.dim(
            `note: ${STATE_ROOT}/ holds the state of an isomesh dev from before each mesh had its own folder; this one uses ${state} (to keep the old state, move ${STATE_ROOT}/v3 there, or pass --state ${STATE_ROOT})\n`,
          ),
        );
      const { token, generated } = devToken(state, o.adminToken);
      const traceSampling = samplingRate(o.traceSampling);
      const dataPlane = dataPlaneOption(o.dataPlane);
      process.stdout.write(
        c.dim(`starting mesh "${manifest.name}" (${manifest.services.length} services) on workerd …\n`),
      );
      // Output is held until the mesh is up: a failed start prints its reason, not workerd's stack.
      const print = (line: string) => process.stdout.write(line.endsWith("\n") ? line : line + "\n");
      let held: string[] | undefined = [];
      const mesh = await startMesh({
        manifestPath: manifestFile,
        port,
        adminPort,
        stateDir: state,
        adminToken: token,
        // Miniflare's own info lines name its internal entry socket, which is not for users.
        logLevel: LogLevel.WARN,
        gen: { otlpEndpoint: o.otlp, accessLog: accessLogMode(o.accessLog), traceSampling, dataPlane },
        ready: "manual", // the defaults are stored before anything is served
        onLog: (line) => (held ? held.push(line) : print(line)),
      }).catch((e: Error) => {
        for (const line of withoutBindFailure(held ?? [])) print(line);
        held = undefined;
        throw new CliError(portHint(e.message, port, adminPort ?? port + 1));
      });
      for (const line of held) print(line);
      held = undefined;
      for (const note of mesh.mesh.notes) process.stdout.write(c.dim(`note: ${note}\n`));
      for (const m of mesh.migrations)
        if (m.applied.length)
          process.stdout.write(
            `applied D1 migrations to ${m.database} (${m.users.join(", ")}): ${m.applied.join(", ")}\n`,
          );
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(c.dim(`\n${signal}: stopping the mesh …\n`));
        await mesh.dispose().catch(() => undefined);
        process.exit(0);
      };
      // Miniflare's own exit hook would exit with 128+signal before dispose finishes: we own shutdown.
      process.removeAllListeners("SIGINT");
      process.removeAllListeners("SIGTERM");
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));

      const defaults = loadDefaults(manifest, manifestFile);
      const client = new AdminClient(mesh.adminUrl, token);
      if (defaults.length) {
        const res = await client.call("POST", "/v1/apply?defaults=true", JSON.stringify(defaults), mesh.startHeaders);
        if (res.version)
          process.stdout.write(c.dim(`applied ${res.changes.length} new default resources (version ${res.version})\n`));
      }
      // Restarted with a changed manifest, stored resources may name services or versions it no longer has.
      const analysis = await client.call("POST", "/v1/analyze", "", mesh.startHeaders);
      for (const e of analysis.errors ?? [])
        process.stdout.write(
          c.yellow(`warning: ${e.resource} ${e.path}: ${e.message} (the manifest changed: fix or delete it)\n`),
        );
      await mesh.ready();
      // Timed from the process's start, loading the CLI included: what the user waited.
      console.log(`
${c.bold("isomesh")} ${c.green("ready")} in ${Math.round(process.uptime() * 1000)} ms
  gateway    ${mesh.gatewayUrl}
  admin API  ${mesh.adminUrl}
  dashboard  ${mesh.adminUrl}/ui#token=${token}
  token      ${token}${generated ? c.dim(` (kept in ${join(state, "admin-token")})`) : ""}

  export ISOMESH_ADMIN=${mesh.adminUrl} ISOMESH_TOKEN=${token}
`);
    });
}

import type { Command } from "commander";
import { AdminClient, CliError } from "../client.ts";
import { c, printStructured } from "../output.ts";
import { send } from "../send.ts";

type Hop = {
  edge: string;
  caller: string;
  status?: number;
  durationMs?: number;
  share?: number;
  decisions: { stage: string; decision: string; [k: string]: unknown }[];
  children: Hop[];
};

const DETAIL_KEYS = ["beat", "policy", "rule", "principal", "reason", "backoffMs", "deadlineLeftMs", "error", "status"];

/** Prints a decision tree: one block per hop, a line per decision, details indented. */
export function renderHops(hops: Hop[], depth = 0): string {
  const out: string[] = [];
  const pad = "  ".repeat(depth);
  for (const h of hops) {
    const status =
      h.status === undefined
        ? ""
        : h.status === 0
          ? c.yellow("cancelled: the caller gave up")
          : h.status >= 400
            ? c.red(String(h.status))
            : c.green(String(h.status));
    const outcome = status
      ? ` → ${status}${h.durationMs !== undefined ? c.dim(` ${h.status === 0 ? "after" : "in"} ${h.durationMs} ms`) : ""}`
      : "";
    const share =
      h.share !== undefined && h.share < 1 ? c.dim(` (${Math.round(h.share * 1000) / 10}% of requests)`) : "";
    out.push(`${pad}${depth ? "└─ " : ""}${c.bold(h.edge)} ${c.dim(`caller ${h.caller}`)}${outcome}${share}`);
    for (const d of h.decisions) {
      out.push(`${pad}   ${c.cyan(d.stage.padEnd(9))} ${d.decision}`);
      for (const k of DETAIL_KEYS) {
        const v = d[k];
        if (
          v === undefined ||
          v === null ||
          (Array.isArray(v) && v.length === 0) ||
          k === "status" ||
          (k === "rule" && typeof d.policy !== "string")
        )
          continue;
        const lines = Array.isArray(v) ? v.map(String) : [typeof v === "object" ? JSON.stringify(v) : String(v)];
        for (const line of lines) out.push(`${pad}   ${" ".repeat(9)} ${c.dim(`${k}: ${line}`)}`);
      }
    }
    if (h.children.length) out.push(renderHops(h.children, depth + 1));
  }
  return out.join("\n");
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerExplain(program: Command) {
  program
    .command("explain [url]")
    .description(
      "why a request is routed, split, allowed or denied: evaluated by the control plane, or --send it for real",
    )
    .option("-X, --request <method>", "HTTP method", "GET")
    .option("-H, --header <header>", "request header 'Name: value' (repeatable)", collect, [])
    .option("--caller <service>", "evaluate an east-west call from this service (with --service)")
    .option("--service <service>", "the service called east-west")
    .option("--claims <json>", "JWT claims to assume, as JSON")
    .option(
      "--rpc <method>",
      "explain a Workers RPC call to --service instead of a fetch (`method`, or `Entrypoint.method`)",
    )
    .option("--send", "send the request through the gateway with a debug token and show what every hop decided")
    .option("-o, --output <format>", "json or yaml")
    .action(
      async (
        url: string | undefined,
        o: {
          rpc?: string;
          request: string;
          header: string[];
          caller?: string;
          service?: string;
          claims?: string;
          send?: boolean;
          output?: string;
        },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<{ admin?: string; token?: string }>();
        const client = AdminClient.from(globals);
        const headers: Record<string, string> = {};
        for (const h of o.header) {
          const i = h.indexOf(":");
          if (i <= 0) throw new CliError(`bad header ${JSON.stringify(h)} (expected 'Name: value')`);
          headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
        }
        let result: { hops: Hop[] };
        if (o.rpc !== undefined) {
          if (!o.service) throw new CliError("--rpc needs --service (the callee) and usually --caller");
          if (o.send)
            throw new CliError("--send explains a request through the gateway: an RPC call is explained without it");
          const dot = o.rpc.indexOf(".");
          const rpc =
            dot === -1 ? { method: o.rpc } : { entrypoint: o.rpc.slice(0, dot), method: o.rpc.slice(dot + 1) };
          result = await client.call(
            "POST",
            "/v1/explain",
            JSON.stringify({ caller: o.caller, service: o.service, rpc }),
            { "content-type": "application/json" },
          );
        } else if (url === undefined) throw new CliError("explain needs a URL (or --rpc METHOD with --service)");
        else if (o.send) {
          const token = globals.token ?? process.env.ISOMESH_TOKEN;
          if (!token)
            throw new CliError(
              "--send needs an admin token (--token or ISOMESH_TOKEN) to ask the edges for their decisions",
            );
          const res = await send(url.includes("://") ? url : `http://${url}`, o.request, {
            ...headers,
            "x-isomesh-debug": token,
          }).catch((e: Error) => {
            throw new CliError(`cannot send to ${url}: ${e.message}`);
          });
          const id = res.headers["x-isomesh-explain"];
          if (typeof id !== "string")
            throw new CliError(
              `the gateway did not record the request (status ${res.status}); is ${url} the isomesh gateway and the token valid?`,
            );
          result = await pollExplain(client, id);
        } else {
          const target = new URL(url.includes("://") ? url : `http://${url}`);
          result = await client.call(
            "POST",
            "/v1/explain",
            JSON.stringify({
              method: o.request,
              url: target.toString(),
              headers: { host: headers.host ?? target.host, ...headers },
              caller: o.caller,
              service: o.service,
              claims: parseClaims(o.claims),
            }),
            { "content-type": "application/json" },
          );
        }
        if (!printStructured(o.output, result)) console.log(renderHops(result.hops));
      },
    );
}

function parseClaims(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {}
  throw new CliError(`--claims must be a JSON object, e.g. '{"iss":"https://login.example","sub":"jason"}'`);
}

/**
 * Decision records reach the control plane with each isolate's next telemetry flush, through its
 * collector, which passes them on at most once a second: the hops of one request land up to about
 * a second apart. So the tree is read until no hop has landed for QUIET_MS (or MAX_MS have passed).
 */
const QUIET_MS = 1500;
const MAX_MS = 10_000;
async function pollExplain(client: AdminClient, id: string): Promise<{ hops: Hop[] }> {
  const started = Date.now();
  let last: { hops: Hop[] } | undefined;
  let changedAt = started;
  for (;;) {
    const res = await client.request("GET", `/v1/explain/${id}`);
    const now = Date.now();
    if (res.status === 200) {
      const tree = res.body as { hops: Hop[] };
      if (!last || countHops(tree.hops) !== countHops(last.hops)) changedAt = now;
      last = tree;
      if (now - changedAt >= QUIET_MS || now - started >= MAX_MS) return last;
    } else if (now - started > 5000) throw new CliError(`no decision record for ${id} after 5 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const countHops = (hops: Hop[]): number => hops.reduce((n, h) => n + 1 + countHops(h.children), 0);

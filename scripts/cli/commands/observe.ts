import type { Command } from "commander";
import { AdminClient } from "../client.ts";
import { c, printStructured, table } from "../output.ts";
import type { Span } from "../../../shared/control-api.ts";
import type { Golden } from "../../../shared/telemetry/aggregate.ts";

type Globals = { admin?: string; token?: string };
const clientOf = (cmd: Command) => AdminClient.from(cmd.optsWithGlobals<Globals>());

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${v.toFixed(1)}ms`);
const health = (v: number | null | undefined) =>
  v === null || v === undefined
    ? c.dim("-")
    : v >= 0.99
      ? c.green(pct(v))
      : v >= 0.95
        ? c.yellow(pct(v))
        : c.red(pct(v));

type Stat = Golden & {
  service: string;
  versions: (Golden & { version: string })[];
  mirrored?: (Golden & { version: string })[];
};

type External = Golden & { name: string; callers: (Golden & { caller: string })[] };

/** Requests, with how many of them the caller gave up on first (code 0), when any. */
const requests = (g: Golden) => (g.cancelled ? `${g.requests} ${c.yellow(`(${g.cancelled} cancelled)`)}` : g.requests);

/** The gateway's row: what arrived from outside, with the requests it refused before reaching any service. */
const ingress = (g: Golden & { refused: number }) =>
  g.refused ? `${g.requests} ${c.yellow(`(${g.refused} refused at the gateway)`)}` : g.requests;

export function statTable(stats: {
  gateway?: Golden & { refused: number };
  services: Stat[];
  externals?: External[];
}): string {
  const rows: (string | number)[][] = [];
  const row = (first: string, second: string, g: Golden) => [
    first,
    second,
    g.rps,
    health(g.successRate),
    ms(g.p50),
    ms(g.p95),
    ms(g.p99),
    requests(g),
  ];
  if (stats.gateway)
    rows.push([...row(c.bold("gateway"), c.dim("(ingress)"), stats.gateway).slice(0, -1), ingress(stats.gateway)]);
  for (const s of stats.services) {
    rows.push(row(c.bold(s.service), "*", s));
    for (const v of s.versions) rows.push(row("", v.version, v));
    // Copies a RequestMirror sent, apart from the traffic callers wait for (Istio: the `-shadow` host).
    for (const m of s.mirrored ?? []) rows.push(row("", `${m.version} ${c.dim("(mirror)")}`, m));
  }
  const services = table(["SERVICE", "VERSION", "RPS", "SUCCESS", "P50", "P95", "P99", "REQUESTS"], rows);
  if (!stats.externals?.length) return services;
  const out: (string | number)[][] = [];
  for (const e of stats.externals) {
    out.push(row(c.bold(e.name), "*", e));
    for (const k of e.callers) out.push(row("", k.caller, k));
  }
  return `${services}\n\n${table(["EXTERNAL SERVICE", "CALLER", "RPS", "SUCCESS", "P50", "P95", "P99", "REQUESTS"], out)}`;
}

/** Graphviz DOT of the service graph: edges labelled with rate and success. */
export function toDot(graph: {
  nodes: { id: string; kind: string }[];
  edges: { source: string; target: string; rps: number; successRate: number | null; p99: number | null }[];
}): string {
  const lines = [
    "digraph isomesh {",
    "  rankdir=LR;",
    '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
  ];
  for (const n of graph.nodes)
    lines.push(
      `  "${n.id}"${n.kind !== "service" ? ` [shape=${n.kind === "external" || n.kind === "external-service" ? "ellipse" : "hexagon"}]` : ""};`,
    );
  for (const e of graph.edges) {
    const bad = e.successRate !== null && e.successRate < 0.99;
    lines.push(
      `  "${e.source}" -> "${e.target}" [label="${e.rps} rps, ${pct(e.successRate)}, p99 ${ms(e.p99)}"${bad ? ', color="red"' : ""}];`,
    );
  }
  lines.push("}");
  return lines.join("\n");
}

/** A span's status as a word where the number says nothing: 0 is a request whose caller gave up first. */
const spanStatus = (status: number) =>
  status === 0 ? c.yellow("cancelled") : (status >= 500 ? c.red : c.green)(String(status));

/** A trace as an indented waterfall: one line per span, bars on a shared time axis. */
export function waterfall(spans: Span[], width = 40): string {
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(1, end - start);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = (parent?: string) =>
    spans
      .filter((s) => (parent ? s.parentSpanId === parent : !s.parentSpanId || !ids.has(s.parentSpanId)))
      .sort((a, b) => a.startMs - b.startMs);
  const out: string[] = [];
  const walk = (s: Span, depth: number) => {
    const offset = Math.round(((s.startMs - start) / total) * width);
    const len = Math.max(1, Math.round((s.durationMs / total) * width));
    const bar = " ".repeat(offset) + "█".repeat(Math.min(len, width - offset + 1));
    const label = `${"  ".repeat(depth)}${s.edge} ${s.name}${s.attributes?.mirror === true ? " (mirror)" : ""}`;
    out.push(
      `${label.padEnd(44).slice(0, 44)} ${spanStatus(s.status)} ${String(s.durationMs).padStart(5)}ms ${c.cyan(bar)}`,
    );
    for (const ch of children(s.spanId)) walk(ch, depth + 1);
  };
  for (const root of children(undefined)) walk(root, 0);
  return out.join("\n");
}

export function registerObserve(program: Command) {
  program
    .command("stat [service]")
    .description("golden signals per service and version: requests/s, success rate, p50/p95/p99")
    .option("-w, --window <window>", "1m, 5m, 15m or 1h", "1m")
    .option("-o, --output <format>", "json or yaml")
    .action(async (service: string | undefined, o: { window: string; output?: string }, cmd: Command) => {
      const stats = await clientOf(cmd).call(
        "GET",
        `/v1/stats?window=${o.window}${service ? `&service=${service}` : ""}`,
      );
      if (!printStructured(o.output, stats)) console.log(statTable(stats));
    });

  program
    .command("top")
    .description("live golden signals, refreshed every 2 s (Ctrl-C to stop)")
    .option("-w, --window <window>", "1m, 5m, 15m or 1h", "1m")
    .option("--interval <seconds>", "refresh interval", "2")
    .option("--once", "print once and exit")
    .action(async (o: { window: string; interval: string; once?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      for (;;) {
        const stats = await client.call("GET", `/v1/stats?window=${o.window}`);
        if (process.stdout.isTTY && !o.once) process.stdout.write("\x1b[2J\x1b[H");
        console.log(`${c.bold("isomesh top")} ${c.dim(`${stats.at} · window ${stats.window}`)}\n`);
        console.log(statTable(stats));
        if (o.once) return;
        await new Promise((r) => setTimeout(r, Number(o.interval) * 1000));
      }
    });

  program
    .command("graph")
    .description("the service graph: who calls whom, with rate, success and latency (-o dot for Graphviz)")
    .option("-w, --window <window>", "1m, 5m, 15m or 1h", "5m")
    .option("-o, --output <format>", "dot, json or yaml")
    .action(async (o: { window: string; output?: string }, cmd: Command) => {
      const graph = await clientOf(cmd).call("GET", `/v1/graph?window=${o.window}`);
      if (o.output === "dot") return console.log(toDot(graph));
      if (printStructured(o.output, graph)) return;
      if (!graph.edges.length) return console.log(`no traffic in the last ${o.window}`);
      console.log(
        table(
          ["FROM", "", "TO", "RPS", "SUCCESS", "P50", "P99"],
          graph.edges.map((e: any) => [e.source, "→", e.target, e.rps, health(e.successRate), ms(e.p50), ms(e.p99)]),
        ),
      );
    });

  program
    .command("trace [traceId]")
    .description("recent traces, or one trace as a waterfall")
    .option("-o, --output <format>", "json or yaml")
    .option("--limit <n>", "how many recent traces", "20")
    .action(async (traceId: string | undefined, o: { output?: string; limit: string }, cmd: Command) => {
      const client = clientOf(cmd);
      if (traceId) {
        const t = await client.call("GET", `/v1/traces/${traceId}`);
        if (!printStructured(o.output, t)) console.log(`trace ${t.traceId}\n\n${waterfall(t.spans)}`);
        return;
      }
      const list = await client.call("GET", `/v1/traces?limit=${Number(o.limit)}`);
      if (!printStructured(o.output, list))
        console.log(
          table(
            ["TRACE", "AT", "ROOT", "NAME", "SPANS", "DURATION", "STATUS"],
            list.traces.map((t: any) => [
              t.traceId,
              t.at,
              t.root,
              t.name,
              t.spans,
              ms(t.durationMs),
              t.status === null ? null : spanStatus(t.status),
            ]),
          ),
        );
    });
}

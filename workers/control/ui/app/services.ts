import { esc, health, ms, pct, percent, rps } from "./format.ts";
import type { Pager } from "./pager.ts";
import { type Point, sparkline } from "./sparkline.ts";

type Golden = {
  requests: number;
  rps: number;
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
};
export type Stats = {
  window: string;
  /** What arrived from outside, as the gateway counted it: `refused` never reached a service (404, 401, 403, 429). */
  gateway?: Golden & { refused: number };
  services: (Golden & { service: string; versions: (Golden & { version: string })[] })[];
};
export type Splits = {
  version: number;
  services: {
    service: string;
    rules: { source: string; match: string; weights: { version: string; percent: number }[] }[];
  }[];
};
export type History = {
  window: string;
  stepSeconds: number;
  gateway?: { points: Point[] };
  services: { service: string; points: Point[] }[];
};

const HUES = ["#6ea8fe", "#3ecf8e", "#f5b83d", "#c084fc", "#f0616d", "#5eead4"];

/** Each version: the weight the edge is configured with beside the share of requests it actually served. */
function versionsCell(s: Stats["services"][number], rules: Splits["services"][number]["rules"] | undefined): string {
  const total = s.versions.reduce((a, v) => a + v.requests, 0);
  const main = rules?.find((r) => r.match === "");
  const lines = s.versions.map((v, i) => {
    const configured = main?.weights.find((w) => w.version === v.version)?.percent ?? (main ? 0 : null);
    const observed = total ? (v.requests / total) * 100 : null;
    const bar = (p: number | null, cls: string) =>
      `<span class="bar ${cls}"><span style="width:${p ?? 0}%;background:${HUES[i % HUES.length]}"></span></span>`;
    return `<div class="vline"><span class="vname" style="color:${HUES[i % HUES.length]}">${esc(v.version)}</span>${bar(configured, "cfg")}<span class="vnum">${percent(configured)}</span>${bar(observed, "obs")}<span class="vnum">${percent(observed)}</span></div>`;
  });
  const others = (rules ?? []).filter((r) => r !== main);
  const extra = others.length
    ? `<details class="rules"><summary>+${others.length} matching rule${others.length > 1 ? "s" : ""}</summary>${others
        .map(
          (r) =>
            `<div><span class="dim">${esc(r.match || "every request")}</span> → ${
              r.weights
                .filter((w) => w.percent > 0)
                .map((w) => `${esc(w.version)} ${percent(w.percent)}`)
                .join(", ") || "no backend"
            } <span class="dim">(${esc(r.source)})</span></div>`,
        )
        .join("")}</details>`
    : "";
  const source = main ? `<div class="dim small">${esc(main.source)}</div>` : "";
  return lines.join("") + source + extra;
}

/** The services table: golden signals, 5-minute trends served by the control plane, configured vs observed split. */
export function renderServices(
  stats: Stats,
  splits: Splits | null,
  history: History | null,
  query: string,
  pager: Pager,
): { html: string; count: number } {
  const q = query.trim().toLowerCase();
  const rows = stats.services.filter((s) => !q || s.service.toLowerCase().includes(q));
  const page = pager.slice(rows);
  const historyOf = new Map(history?.services.map((h) => [h.service, h.points]) ?? []);
  const splitOf = new Map(splits?.services.map((s) => [s.service, s.rules]) ?? []);
  const trend = history ? `${history.window}` : "5m";
  const body = page.rows
    .map((s) => {
      const points = historyOf.get(s.service) ?? [];
      return `<tr data-service="${esc(s.service)}"><td><button class="link focus-service" data-service="${esc(s.service)}">${esc(s.service)}</button></td><td class="num">${rps(s.rps)}</td><td class="num ${health(s.successRate)}">${pct(s.successRate)}</td><td class="num wide-only">${ms(s.p50)}</td><td class="num">${ms(s.p99)}</td><td>${sparkline(points, (p) => p.rps, `${s.service} requests/s, last ${trend}`)}</td><td class="wide-only">${sparkline(points, (p) => p.p99, `${s.service} p99, last ${trend}`)}</td><td class="versions">${versionsCell(s, splitOf.get(s.service))}</td></tr>`;
    })
    .join("");
  // The gateway first: every request from outside, those refused before reaching a service too.
  const g = stats.gateway;
  const gatewayPoints = history?.gateway?.points ?? [];
  const ingress =
    g && !q
      ? `<tr data-service="gateway" class="ingress"><td><button class="link focus-service" data-service="gateway">gateway</button> <span class="dim small">ingress</span></td><td class="num">${rps(g.rps)}</td><td class="num ${health(g.successRate)}">${pct(g.successRate)}</td><td class="num wide-only">${ms(g.p50)}</td><td class="num">${ms(g.p99)}</td><td>${sparkline(gatewayPoints, (p) => p.rps, `gateway requests/s, last ${trend}`)}</td><td class="wide-only">${sparkline(gatewayPoints, (p) => p.p99, `gateway p99, last ${trend}`)}</td><td class="small">${g.requests} requests${g.refused ? `, <span class="warn">${g.refused} refused at the gateway</span> (no route, authentication, authorization, rate limit)` : ""}</td></tr>`
      : "";
  const head = `<tr><th>service</th><th class="num">rps</th><th class="num">success</th><th class="num wide-only">p50</th><th class="num">p99</th><th>rps, last ${esc(trend)}</th><th class="wide-only">p99, last ${esc(trend)}</th><th>versions: <span class="legend cfg">configured</span> · <span class="legend obs">observed</span></th></tr>`;
  const empty = rows.length
    ? ""
    : `<div class="empty">${q ? `no service matches “${esc(query)}”` : "no services"}</div>`;
  return {
    html: `<table id="services-table">${head}${ingress}${body}</table>${empty}${page.controls}`,
    count: rows.length,
  };
}

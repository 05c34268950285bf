import { Api, ConnectionLost, Unauthorized } from "./api.ts";
import { Connection } from "./connection.ts";
import { renderEdges, type Status } from "./edges.ts";
import { $ } from "./dom.ts";
import { esc } from "./format.ts";
import { type Graph, GraphView } from "./graph.ts";
import { type HistoryEntry, type HistoryList, renderDiff, renderHistory } from "./history.ts";
import { Pager } from "./pager.ts";
import { type Rollouts, renderRollouts } from "./rollouts.ts";
import { type History, renderServices, type Splits, type Stats } from "./services.ts";
import { nextTraceRows, renderTraces, renderWaterfall, type Trace, type TraceList, type TraceRow } from "./traces.ts";

// The token arrives in the fragment (#token=…), is kept in sessionStorage and removed from the URL.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  sessionStorage.setItem("isomesh-token", fragment.get("token")!);
  history.replaceState(null, "", location.pathname + location.search);
}
let token = sessionStorage.getItem("isomesh-token");

const api = new Api(() => token);
const connection = new Connection();
const WINDOWS = ["1m", "5m", "15m"];
const state = {
  window: WINDOWS.includes(localStorage.getItem("isomesh-window") ?? "")
    ? localStorage.getItem("isomesh-window")!
    : "1m",
  query: "",
  showAllEdges: false,
  configVersion: -1,
  stats: null as Stats | null,
  splits: null as Splits | null,
  history: null as History | null,
  historyAt: 0,
  status: null as Status | null,
  changes: null as HistoryList | null,
  openDiffs: new Set<number>(),
  /** The trace list as shown, the trace open in the waterfall, and whether the pointer is on the list. */
  traceRows: null as TraceRow[] | null,
  traceList: null as TraceRow[] | null,
  selectedTrace: null as string | null,
  pointerOnTraces: false,
  diffs: new Map<number, string>(),
};
const servicesPager = new Pager(15, "services", () => drawServices());
const edgesPager = new Pager(12, "edges", () => drawEdges());

const graph = new GraphView($("graph-canvas"), (id) => {
  $("focus").hidden = id === null;
  $("focus-name").textContent = id ?? "";
});
// For the browser tests: the graph is a canvas, so node positions are read from Cytoscape itself.
(window as unknown as { isomeshDashboard: unknown }).isomeshDashboard = { graph };

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = ($("token-input") as HTMLInputElement).value.trim();
  sessionStorage.setItem("isomesh-token", token);
  $("login").hidden = true;
  $("app").hidden = false;
  void refresh();
});

const windowSelect = $("window") as HTMLSelectElement;
windowSelect.value = state.window;
windowSelect.addEventListener("change", () => {
  state.window = windowSelect.value;
  localStorage.setItem("isomesh-window", state.window);
  void refresh();
});
$("search").addEventListener("input", (e) => {
  state.query = (e.target as HTMLInputElement).value;
  servicesPager.page = 0;
  edgesPager.page = 0;
  graph.search(state.query);
  drawServices();
  drawEdges();
});
$("unfocus").addEventListener("click", () => graph.focus(null));
$("fit").addEventListener("click", () => graph.fit());

document.addEventListener("click", async (e) => {
  const el = e.target as HTMLElement;
  const service = el.closest<HTMLElement>(".focus-service");
  if (service) {
    graph.focus(service.dataset.service!);
    $("graph-panel").scrollIntoView({ block: "nearest" });
  }
  if (el.id === "edges-toggle") {
    state.showAllEdges = !state.showAllEdges;
    drawEdges();
  }
  const trace = el.closest<HTMLElement>(".trace-row");
  if (trace) {
    state.selectedTrace = trace.dataset.trace!;
    drawTraces();
    void showTrace(state.selectedTrace);
  }
  if (el.id === "close-trace") {
    state.selectedTrace = null;
    $("waterfall").innerHTML = "";
    drawTraces();
  }
  const diff = el.closest<HTMLElement>(".show-diff");
  if (diff) void toggleDiff(Number(diff.dataset.version));
  const rollback = el.closest<HTMLElement>(".rollback");
  if (rollback) {
    const version = Number(rollback.dataset.version);
    if (!confirm(`Restore the config of version ${version} as a new version?`)) return;
    try {
      await api.call("/v1/rollback", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ version }),
      });
      void refresh();
    } catch (err) {
      alert(`Rollback failed: ${(err as Error).message}`);
    }
  }
});

async function showTrace(id: string) {
  try {
    $("waterfall").innerHTML = renderWaterfall(await api.call<Trace>(`/v1/traces/${id}`));
  } catch (err) {
    $("waterfall").innerHTML = `<div class="bad">${esc((err as Error).message)}</div>`;
  }
}

async function toggleDiff(version: number) {
  if (state.openDiffs.has(version)) state.openDiffs.delete(version);
  else {
    state.openDiffs.add(version);
    if (!state.diffs.has(version))
      api
        .call<HistoryEntry>(`/v1/history/${version}`)
        .then(
          (entry) => state.diffs.set(version, renderDiff(entry)),
          (err: Error) => state.diffs.set(version, `<span class="bad">diff unavailable: ${esc(err.message)}</span>`),
        )
        .finally(drawHistory);
  }
  drawHistory();
}

// The list holds still under the pointer: a row does not move away from a click.
$("traces-panel").addEventListener("mouseenter", () => {
  state.pointerOnTraces = true;
  drawTraces();
});
$("traces-panel").addEventListener("mouseleave", () => {
  state.pointerOnTraces = false;
  drawTraces();
});

function drawTraces() {
  if (!state.traceList) return;
  const paused = state.pointerOnTraces || state.selectedTrace !== null;
  const { rows, newer } = nextTraceRows(state.traceRows, state.traceList, paused);
  state.traceRows = rows;
  $("traces").innerHTML = renderTraces(rows, { selected: state.selectedTrace, paused, newer });
}

function drawServices() {
  if (!state.stats) return;
  const { html } = renderServices(state.stats, state.splits, state.history, state.query, servicesPager);
  $("services").innerHTML = html;
}
function drawEdges() {
  if (state.status) $("edges").innerHTML = renderEdges(state.status, state.query, state.showAllEdges, edgesPager);
}
function drawHistory() {
  if (state.changes) $("history").innerHTML = renderHistory(state.changes, state.openDiffs, state.diffs);
}
function drawHeader(status: Status) {
  $("version").textContent = `config version ${status.version}`;
  const live = status.edges.filter((e) => (e.isolates ?? 0) > 0).length;
  $("converged").textContent = live
    ? `${Math.round(status.converged * 100)}% of ${live} live edges synced`
    : "no live edges";
  for (const el of document.querySelectorAll(".window-label")) el.textContent = `last ${state.window}`;
}

/** One poll. The status call is the heartbeat: when it cannot reach the control plane, the page is offline. */
async function refresh() {
  if (!token) return showLogin();
  const w = state.window;
  const jobs: Promise<unknown>[] = [
    api.call<Status>("/v1/status").then((s) => {
      state.status = s;
      drawHeader(s);
      drawEdges();
      if (s.version !== state.configVersion) {
        state.configVersion = s.version;
        return api.call<Splits>("/v1/splits").then((sp) => (state.splits = sp));
      }
    }),
    api.call<Graph>(`/v1/graph?window=${w}`).then((g) => graph.update(g)),
    api.call<Stats>(`/v1/stats?window=${w}`).then((s) => (state.stats = s)),
    api.call<TraceList>("/v1/traces?limit=8").then((t) => {
      state.traceList = t.traces;
      drawTraces();
    }),
    api.call<Rollouts>("/v1/rollouts").then((r) => ($("rollouts").innerHTML = renderRollouts(r))),
    api.call<HistoryList>("/v1/history?limit=8").then((h) => {
      state.changes = h;
      drawHistory();
    }),
  ];
  // Sparklines: the control plane keeps 10 s windows, so their history changes no faster than that.
  if (Date.now() - state.historyAt > 10_000 || !state.history)
    jobs.push(
      api
        .call<History>("/v1/stats/history?window=5m")
        .then((h) => ((state.history = h), (state.historyAt = Date.now()))),
    );
  const results = await Promise.allSettled(jobs);
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failures.some((e) => e instanceof Unauthorized)) return showLogin("That token was not accepted.");
  const lost = results[0].status === "rejected" && failures.find((e) => e instanceof ConnectionLost);
  if (lost) {
    connection.lost(lost.message);
    // What the edges run cannot be known without the control plane: never keep saying "100% synced".
    $("converged").textContent = "edge sync unknown (offline)";
  } else if (connection.ok()) {
    state.historyAt = 0; // back online: fetch what was missed on the next poll
    state.configVersion = -1;
  }
  drawServices();
  const other = failures.find((e) => !(e instanceof ConnectionLost));
  $("error").hidden = !other || !!lost;
  $("error").textContent = other ? `Some panels could not be refreshed: ${other.message}` : "";
}

void refresh();
setInterval(() => void refresh(), 2000);
setInterval(() => connection.render(), 1000);

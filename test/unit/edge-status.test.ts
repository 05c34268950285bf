import { describe, expect, it } from "vitest";
import {
  EdgeStatusBoard,
  edgeStates,
  type IsolateRow,
  type StatusGroup,
} from "../../workers/control/config-store/edge-status.ts";
import { migrate } from "../../workers/control/config-store/migrations.ts";
import { fakeClock } from "../helpers/config-store.ts";
import { testStorage } from "../helpers/sql-storage.ts";

const NOW = 1_000_000;
const WINDOW = 60_000;
const row = (
  edge: string,
  isolate: string,
  hash: string,
  ageMs: number,
  extra: Partial<IsolateRow> = {},
): IsolateRow => ({ edge, isolate, version: 3, hash, state: "synced", error: null, last_seen: NOW - ageMs, ...extra });

describe("edge sync states (GET /v1/status)", () => {
  it.each([
    ["every live isolate runs the wanted snapshot", [row("e", "a", "h1", 1), row("e", "b", "h1", 10)], "synced", 2],
    ["one live isolate runs an older snapshot", [row("e", "a", "h1", 1), row("e", "b", "h0", 10)], "stale", 2],
    [
      "one refused a snapshot",
      [row("e", "a", "h0", 1, { state: "rejected", error: "checksum mismatch" })],
      "rejected",
      1,
    ],
    ["no isolate reported in the window", [row("e", "a", "h0", WINDOW + 1)], "idle", 0],
    ["nothing ever reported", [], "idle", 0],
  ])("%s", (_n, rows, state, isolates) => {
    const [e] = edgeStates(["e"], new Map([["e", "h1"]]), rows, NOW - WINDOW).edges;
    expect(e).toMatchObject({ edge: "e", state, isolates, hash: "h1" });
  });

  it("says when an idle edge was last seen, with no version (nothing runs)", () => {
    const [e] = edgeStates(["e"], new Map([["e", "h1"]]), [row("e", "a", "h0", WINDOW * 3)], NOW - WINDOW).edges;
    expect(e).toMatchObject({ state: "idle", version: null, lastSeen: new Date(NOW - WINDOW * 3).toISOString() });
  });

  it("counts convergence over edges with a live isolate only: an idle edge is not behind", () => {
    const wanted = new Map([
      ["a", "h1"],
      ["b", "h1"],
      ["c", "h1"],
    ]);
    expect(
      edgeStates(["a", "b", "c"], wanted, [row("a", "1", "h1", 1), row("b", "1", "h0", 1)], NOW - WINDOW).converged,
    ).toBe(0.5);
    expect(edgeStates(["a", "b", "c"], wanted, [row("a", "1", "h1", 1)], NOW - WINDOW).converged).toBe(1);
    expect(edgeStates(["a"], wanted, [], NOW - WINDOW).converged).toBe(1);
  });
});

describe("edge status board: nudges", () => {
  it("shows an edge nudged but not answered yet as stale (loading), not idle, until its answer says what it runs", async () => {
    const { sql } = await testStorage();
    migrate(sql);
    const board = new EdgeStatusBoard(sql, WINDOW, fakeClock(NOW).now);
    let answer!: (r: { edge: string; isolate: string; version: number; hash: string; state: "synced" }) => void;
    board.track(new Map([["e", new Promise((r) => (answer = r))]]));
    expect(board.status(2, ["e", "f"], new Map([["e", "h2"]]))).toMatchObject({
      edges: [
        { edge: "e", state: "stale", isolates: 0 },
        { edge: "f", state: "idle" },
      ],
      converged: 0,
    });
    answer({ edge: "e", isolate: "a", version: 2, hash: "h2", state: "synced" });
    await new Promise((r) => setTimeout(r, 0));
    expect(board.status(2, ["e"], new Map([["e", "h2"]]))).toMatchObject({
      edges: [{ edge: "e", state: "synced", isolates: 1 }],
      converged: 1,
    });
  });

  it("shows an edge whose nudge failed as idle again", async () => {
    const { sql } = await testStorage();
    migrate(sql);
    const board = new EdgeStatusBoard(sql, WINDOW, fakeClock(NOW).now);
    board.track(new Map([["e", Promise.reject(new Error("no isolate"))]]));
    await new Promise((r) => setTimeout(r, 0));
    expect(board.status(2, ["e"], new Map([["e", "h2"]])).edges[0].state).toBe("idle");
  });
});

describe("edge status board", () => {
  it("keeps the newest report of an isolate even when an older one arrives later", async () => {
    const { sql } = await testStorage();
    migrate(sql);
    const clock = fakeClock(NOW);
    const board = new EdgeStatusBoard(sql, WINDOW, clock.now);
    board.report({ edge: "e", isolate: "a", version: 5, hash: "h5", state: "synced" });
    board.report({ edge: "e", isolate: "a", version: 4, hash: "h4", state: "synced" });
    expect(
      board.status(
        5,
        ["e", "f"],
        new Map([
          ["e", "h5"],
          ["f", "hf"],
        ]),
      ),
    ).toMatchObject({
      version: 5,
      edges: [
        { edge: "e", state: "synced", version: 5, isolates: 1 },
        { edge: "f", state: "idle", version: null, isolates: 0, lastSeen: null },
      ],
      converged: 1,
    });
    clock.advance(WINDOW + 1);
    expect(board.status(5, ["e"], new Map([["e", "h5"]])).edges[0]).toMatchObject({
      state: "idle",
      lastSeen: new Date(NOW).toISOString(),
    });
    clock.advance(20 * WINDOW);
    expect(board.status(5, ["e"], new Map([["e", "h5"]])).edges[0]).toMatchObject({ state: "idle", lastSeen: null }); // forgotten after 10 windows
  });
});

describe("edge status from telemetry collectors' groups", () => {
  const group = (extra: Partial<StatusGroup> = {}): StatusGroup => ({
    edge: "e",
    version: 3,
    hash: "h1",
    state: "synced",
    isolates: 1,
    lastSeen: NOW - 1,
    ids: ["a"],
    ...extra,
  });
  const wanted = new Map([["e", "h1"]]);

  it("counts every isolate of every collector's groups, and their states decide the edge's", () => {
    const synced = edgeStates(["e"], wanted, [], NOW - WINDOW, undefined, undefined, [
      group({ isolates: 6000, ids: ["a", "b"] }),
      group({ isolates: 4000, ids: ["c"] }),
    ]).edges[0];
    expect(synced).toMatchObject({ state: "synced", isolates: 10_000, version: 3 });
    const stale = edgeStates(["e"], wanted, [], NOW - WINDOW, undefined, undefined, [
      group({ isolates: 6000 }),
      group({ version: 2, hash: "h0", isolates: 5 }),
    ]).edges[0];
    expect(stale).toMatchObject({ state: "stale", isolates: 6005, version: 2 });
    const rejected = edgeStates(["e"], wanted, [], NOW - WINDOW, undefined, undefined, [
      group({ state: "rejected", error: "bad snapshot" }),
    ]).edges[0];
    expect(rejected).toMatchObject({ state: "rejected", error: "bad snapshot" });
    const idle = edgeStates(["e"], wanted, [], NOW - WINDOW, undefined, undefined, [
      group({ lastSeen: NOW - WINDOW - 1 }),
    ]).edges[0];
    expect(idle).toMatchObject({ state: "idle", isolates: 0 });
  });

  it("counts an isolate a nudge answered and a collector lists once, by its newer report", () => {
    const nudged = [row("e", "a", "h2", 0, { version: 4 })];
    const newer = edgeStates(["e"], new Map([["e", "h2"]]), nudged, NOW - WINDOW, undefined, undefined, [
      group({ isolates: 3, ids: ["a", "b", "c"] }),
    ]).edges[0];
    expect(newer).toMatchObject({ isolates: 3, state: "stale", version: 3 }); // a runs h2 (nudge), b and c h1
    const older = edgeStates(
      ["e"],
      wanted,
      [row("e", "a", "h0", 5000, { version: 2 })],
      NOW - WINDOW,
      undefined,
      undefined,
      [group({ isolates: 3, ids: ["a", "b", "c"] })],
    ).edges[0];
    expect(older).toMatchObject({ isolates: 3, state: "synced", version: 3 });
  });

  it("lists an inline service's isolates from the groups", () => {
    const [e] = edgeStates(["e"], wanted, [], NOW - WINDOW, undefined, new Set(["e"]), [
      group({ isolates: 2, ids: ["web/v1#b", "web/v1#a"] }),
    ]).edges;
    expect(e.inline).toEqual(["web/v1#a", "web/v1#b"]);
  });

  it("keeps each collector's latest groups only, and forgets them as it forgets isolates", async () => {
    const { sql } = await testStorage();
    migrate(sql);
    const clock = fakeClock(NOW);
    const board = new EdgeStatusBoard(sql, WINDOW, clock.now);
    board.collectorReport("collector:e:0", [group({ isolates: 5, lastSeen: NOW })]);
    board.collectorReport("collector:e:1", [group({ isolates: 2, lastSeen: NOW })]);
    board.collectorReport("collector:e:0", [group({ isolates: 4, lastSeen: NOW })]);
    expect(board.status(3, ["e"], wanted).edges[0]).toMatchObject({ state: "synced", isolates: 6 });
    clock.advance(20 * WINDOW);
    expect(board.status(3, ["e"], wanted).edges[0]).toMatchObject({ state: "idle", lastSeen: null });
    expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM collector_status").one().n).toBe(0);
  });
});

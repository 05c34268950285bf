import { describe, expect, it } from "vitest";
import { EdgeStatusBoard, edgeStates, type IsolateRow } from "../../workers/control/config-store/edge-status.ts";
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

import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.ts";
import { startTestMesh, TEST_TOKEN, type TestMesh } from "../helpers/mesh.ts";

// Functions passed to page.evaluate run in the page: its DOM globals, loosely typed (this project's lib is the Workers runtime's).
declare const document: any, window: any, getComputedStyle: (e: unknown) => any;

/**
 * The dashboard on a team-sized mesh: 100 services in three tiers (10 front services the gateway
 * routes to, each calling 3 of 30 middle ones, each calling 2 of 60 leaves), every call made once.
 */
const forwarder = resolve("test/helpers/forwarder.ts");
const fronts = Array.from({ length: 10 }, (_, i) => `fe-${i}`);
const mids = Array.from({ length: 30 }, (_, i) => `mid-${i}`);
const leaves = Array.from({ length: 60 }, (_, i) => `leaf-${i}`);
const midsOf = (i: number) => [0, 1, 2].map((k) => mids[i * 3 + k]);
const leavesOf = (m: number) => [0, 1].map((k) => leaves[m * 2 + k]);
const binding = (s: string) => s.toUpperCase().replace(/-/g, "_");

function manifest(): string {
  const lines = ["name: scale", "services:"];
  fronts.forEach((s, i) =>
    lines.push(
      `  - name: ${s}`,
      `    versions: [{ name: v1, worker: ${forwarder} }]`,
      `    calls: [${midsOf(i).join(", ")}]`,
    ),
  );
  mids.forEach((s, m) =>
    lines.push(
      `  - name: ${s}`,
      `    versions: [{ name: v1, worker: ${forwarder} }]`,
      `    calls: [${leavesOf(m).join(", ")}]`,
    ),
  );
  // Leaves are echo backends; two versions on a few, so the split column has something to show.
  leaves.forEach((s, l) =>
    lines.push(
      `  - name: ${s}`,
      `    versions: [${l % 10 === 0 ? "{ name: v1, echo: true }, { name: v2, echo: true }" : "{ name: v1, echo: true }"}]`,
    ),
  );
  return lines.join("\n") + "\n";
}

const gatewayRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: fronts }
spec:
  parentRefs: [{ name: gateway }]
  rules:
${fronts.map((s) => `    - matches: [{ path: { type: PathPrefix, value: /${s} } }]\n      backendRefs: [{ name: ${s} }]`).join("\n")}
`;

let mesh: TestMesh;
let browser: Browser;
let startMs = 0;

beforeAll(async () => {
  const started = Date.now();
  mesh = await startTestMesh(manifest());
  startMs = Date.now() - started;
  await mesh.apply(gatewayRoutes);
  // Every front → middle → leaf chain once: 60 requests cover all 100 services and 101 graph edges.
  const calls: Promise<unknown>[] = [];
  fronts.forEach((fe, i) =>
    midsOf(i).forEach((mid) => {
      const m = mids.indexOf(mid);
      for (const leaf of leavesOf(m))
        calls.push(
          mesh
            .get(`/${fe}/x`, { headers: { "x-forward-to": `${binding(mid)},${binding(leaf)}` } })
            .then((r) => expect(r.status).toBe(200)),
        );
    }),
  );
  await Promise.all(calls);
  ({ browser } = await launchChromium());
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await mesh?.stop();
});

type Box = { id: string; x1: number; x2: number; y1: number; y2: number };
const overlapping = (boxes: Box[]) => {
  const out: string[] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) out.push(`${a.id} × ${b.id}`);
    }
  return out;
};

describe("dashboard at 100 services", () => {
  it("lays the graph out with no two node boxes (labels inside them) overlapping, and reports the time to draw", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const opened = Date.now();
    await page.goto(`${mesh.adminUrl}/ui#token=${TEST_TOKEN}`);
    // All 100 services, the gateway and the internet, with every call seen.
    await page.waitForFunction(
      () => {
        const graph = (window as any).isomeshDashboard?.graph;
        return graph && graph.cy.nodes().length >= 102 && graph.cy.edges().length >= 101 && graph.timings.drawMs > 0;
      },
      null,
      { timeout: 60_000 },
    );
    const shownMs = Date.now() - opened;
    const measured = await page.evaluate(() => {
      const view = (window as any).isomeshDashboard.graph;
      const box = (b: any, id: string) => ({ id, x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2 });
      const nodes = view.cy.nodes();
      return {
        timings: view.timings,
        nodes: nodes.length,
        // Model coordinates (zoom-independent), each node's box with its label.
        boxes: nodes.map((n: any) => box(n.boundingBox({ includeLabels: true, includeOverlays: false }), n.id())),
        labels: nodes.map((n: any) =>
          box(n.boundingBox({ includeNodes: false, includeLabels: true, includeOverlays: false }), n.id()),
        ),
        edgeLabels: view.cy.edges(".labelled").length,
      };
    });
    console.log(
      `100 services: mesh ready in ${startMs} ms; the full graph was on screen ${shownMs} ms after the page opened; its dagre layout took ${measured.timings.layoutMs} ms, layout to painted frame ${measured.timings.drawMs} ms`,
    );
    expect(measured.nodes).toBe(102);
    expect(overlapping(measured.boxes)).toEqual([]);
    expect(overlapping(measured.labels)).toEqual([]);
    // Labels sit inside their node's box.
    for (const [i, l] of measured.labels.entries()) {
      const b = measured.boxes[i];
      expect(l.x1 >= b.x1 - 0.5 && l.x2 <= b.x2 + 0.5 && l.y1 >= b.y1 - 0.5 && l.y2 <= b.y2 + 0.5, l.id).toBe(true);
    }
    expect(measured.edgeLabels).toBe(0); // 101 edges: rates go in node labels, not on edges that would collide

    // Search narrows the tables and highlights the match; focus shows one service's neighbours.
    await page.fill("#search", "mid-7");
    await page.waitForFunction(() => document.querySelectorAll("#services-table tr[data-service]").length === 1);
    expect(
      await page.$$eval("#services-table tr[data-service]", (rows) => rows.map((r) => r.getAttribute("data-service"))),
    ).toEqual(["mid-7"]);
    await page.click('.focus-service[data-service="mid-7"]');
    const focus = await page.evaluate(() => {
      const cy = (window as any).isomeshDashboard.graph.cy;
      const visible = cy.nodes().filter((n: any) => n.visible());
      const boxes = visible.map((n: any) => {
        const b = n.boundingBox({ includeLabels: true, includeOverlays: false });
        return { id: n.id(), x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2 };
      });
      const edgeLabels = cy
        .edges(".labelled")
        .filter((e: any) => e.visible())
        .map((e: any) => {
          const b = e.boundingBox({
            includeEdges: false,
            includeNodes: false,
            includeLabels: true,
            includeOverlays: false,
          });
          return { id: e.id(), x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2 };
        });
      return { visible: visible.map((n: any) => n.id()).sort(), boxes, edgeLabels };
    });
    expect(focus.visible).toEqual(["fe-2", "leaf-14", "leaf-15", "mid-7"]);
    expect(overlapping([...focus.boxes, ...focus.edgeLabels])).toEqual([]);
    expect(await page.isVisible("#focus")).toBe(true);

    // Clearing the search pages the table instead of drawing 100 rows (the gateway's own row, on top of
    // every page, is not one of them); synced edges are collapsed.
    await page.fill("#search", "");
    await page.waitForFunction(
      () => document.querySelectorAll("#services-table tr[data-service]:not(.ingress)").length === 15,
    );
    expect(await page.textContent("#services .pager")).toContain("1–15 of 100");
    await page.click('#services .pager button[data-step="1"]');
    expect(
      await page.$eval("#services-table tr[data-service]:not(.ingress)", (r) => r.getAttribute("data-service")),
    ).toBe("mid-5");
    expect(await page.$$eval("#edge-table tr", (rows) => rows.length)).toBeLessThanOrEqual(13);
    expect(await page.textContent("#edges .summary")).toMatch(/\d+ synced/);
    // Only when asked for (ISOMESH_SCREENSHOTS=DIR).
    if (process.env.ISOMESH_SCREENSHOTS)
      await page.screenshot({ path: `${process.env.ISOMESH_SCREENSHOTS}/dashboard-100.png` });
    await page.close();
  });
});

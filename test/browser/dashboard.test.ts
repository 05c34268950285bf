import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.ts";
import { allReviewsV2, bookinfoGateway, bookinfoManifest } from "../helpers/bookinfo.ts";
import { startTestMesh, TEST_TOKEN, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";
import { tcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

// Functions passed to page.evaluate run in the page: its DOM globals, loosely typed (this project's lib is the Workers runtime's).
declare const document: any, window: any, getComputedStyle: (e: unknown) => any;

// Screenshots only when asked for: ISOMESH_SCREENSHOTS=docs/img refreshes the README's (never during npm test).
const SHOTS = process.env.ISOMESH_SCREENSHOTS;
let mesh: TestMesh;
let browser: Browser;
/** The browser reaches the admin API through this proxy, so a test can take the control plane away. */
let proxy: TcpProxy;
let meshStopped = false;

/** A fault on productpage for requests carrying x-fail, so the mesh answers 503 (a 5xx trace). */
const failOnHeader = `apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: productpage }
spec:
  targetRefs: [{ kind: Service, name: productpage }]
  faultInjection:
    match: { headers: [{ name: x-fail, value: "yes" }] }
    abort: { httpStatus: 503, percentage: 100 }
`;

beforeAll(async () => {
  mesh = await startTestMesh(bookinfoManifest());
  await mesh.apply(bookinfoGateway);
  await mesh.apply(allReviewsV2);
  await mesh.apply(failOnHeader);
  proxy = await tcpProxy(mesh.adminUrl);
  ({ browser } = await launchChromium());
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  if (!meshStopped) await mesh?.stop();
});

async function open(width = 1440, token = TEST_TOKEN): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 1000 } });
  await page.goto(`${proxy.url}/ui#token=${token}`);
  return page;
}

/** Every text and attribute value on the page: none may read "undefined" or "NaN". */
const unprintable = (page: Page) =>
  page.evaluate(() => {
    const bad = /\bundefined\b|\bNaN\b|\bnull\b/;
    const found: string[] = [];
    if (bad.test(document.body.innerText))
      found.push(...document.body.innerText.split("\n").filter((l: string) => bad.test(l)));
    for (const el of document.querySelectorAll("*"))
      for (const a of el.attributes) if (bad.test(a.value)) found.push(`${el.tagName}[${a.name}="${a.value}"]`);
    return found;
  });

const servicesRow = (page: Page, service: string) => page.locator(`#services-table tr[data-service="${service}"]`);

describe("dashboard in Chromium", () => {
  it("before any traffic: configured weights, no observed share invented, and no undefined or NaN anywhere", async () => {
    const page = await open();
    await servicesRow(page, "reviews").waitFor();
    await page.waitForFunction(() => document.querySelector("#services-table .vline .vnum")?.textContent !== "");
    const reviews = await servicesRow(page, "reviews").locator(".vline").allInnerTexts();
    // v2 is configured at 100% by the route; with no traffic there is no observed share (not "0%").
    expect(reviews.map((l) => l.replace(/\s+/g, " ").trim())).toEqual(["v1 0% –", "v2 100% –", "v3 0% –"]);
    expect(await servicesRow(page, "reviews").innerText()).toContain("HTTPRoute/reviews rule 0"); // rules[0]: the YAML's index, as errors and explain name it
    expect(await servicesRow(page, "details").locator(".vline").innerText()).toMatch(/v1\s+100%\s+–/);
    expect(await unprintable(page)).toEqual([]);
    await page.close();
  });

  it("shows the Bookinfo graph, edges, services and traces, and keeps the token out of the URL", async () => {
    for (let i = 0; i < 15; i++) await mesh.get("/productpage");
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${proxy.url}/ui#token=${TEST_TOKEN}`);
    expect(page.url()).toBe(`${proxy.url}/ui`);

    // The graph is a Cytoscape canvas: its nodes are read from the Cytoscape instance.
    // Nodes come from the topology at once; an edge only once both ends' telemetry reached the control
    // plane (each edge flushes within ~1 s, and the page polls): wait for what is asserted below.
    await page.waitForFunction(
      () => {
        const cy = (window as any).isomeshDashboard.graph.cy;
        return cy.nodes().length >= 6 && cy.edges().length >= 5;
      },
      null,
      { timeout: 20_000 },
    );
    const graph = await page.evaluate(() => {
      const cy = (window as any).isomeshDashboard.graph.cy;
      return {
        nodes: cy
          .nodes()
          .map((n: any) => n.id())
          .sort(),
        edges: cy.edges().length,
      };
    });
    expect(graph).toEqual({ nodes: ["details", "external", "gateway", "productpage", "ratings", "reviews"], edges: 5 });

    await page.waitForSelector("#edge-table td.ok");
    expect(await page.textContent("#version")).toMatch(/config version \d+/);
    expect(await page.textContent("#services")).toContain("productpage");
    expect(await page.textContent("#history-table")).toContain("HTTPRoute/reviews");
    // One window for the graph and the table, and it says which.
    expect(await page.locator(".window-label").allInnerTexts()).toEqual(["last 1m", "last 1m"]);

    await page.waitForSelector(".trace-row", { timeout: 10_000 });
    await page.click(".trace-row");
    await page.waitForSelector("#waterfall-table tr");
    expect(await page.$$eval("#waterfall-table tr", (rows) => rows.length)).toBeGreaterThanOrEqual(5);
    expect(requests.every((u) => !u.includes(TEST_TOKEN))).toBe(true);
    expect(await unprintable(page)).toEqual([]);
    await page.close();
  });

  it("puts each version's configured weight beside its observed share", async () => {
    const page = await open();
    await page.waitForFunction(() =>
      /100%\s+100%/.test(
        document.querySelector('#services-table tr[data-service="reviews"] .vline:nth-child(2)')?.innerText ?? "",
      ),
    );
    const lines = (await servicesRow(page, "reviews").locator(".vline").allInnerTexts()).map((l) =>
      l.replace(/\s+/g, " ").trim(),
    );
    expect(lines).toEqual(["v1 0% 0%", "v2 100% 100%", "v3 0% 0%"]);
    // The sparklines have a past as soon as the page opens: the control plane serves it.
    expect(
      await servicesRow(page, "productpage").locator("svg.spark polyline, svg.spark circle").count(),
    ).toBeGreaterThan(0);
    await page.close();
  });

  it("colours traces by status class: 2xx green, 4xx amber, 5xx red", async () => {
    await mesh.get("/productpage");
    await mesh.get("/no-such-page"); // 404 no_route at the gateway
    await mesh.get("/productpage", { headers: { "x-fail": "yes" } }); // 503 fault_abort
    const page = await open();
    await page.waitForFunction(
      () => {
        const codes = [...document.querySelectorAll("#traces-table td.status")].map((td) => td.textContent);
        return ["200", "404", "503"].every((c) => codes.includes(c));
      },
      null,
      { timeout: 15_000 },
    );
    const colours = await page.$$eval("#traces-table td.status", (tds) =>
      Object.fromEntries(tds.map((td) => [td.textContent, getComputedStyle(td).color])),
    );
    expect(colours).toMatchObject({
      "200": "rgb(62, 207, 142)",
      "404": "rgb(245, 184, 61)",
      "503": "rgb(240, 97, 109)",
    });
    await page.locator("#traces-table tr.trace-row", { hasText: "503" }).first().click();
    await page.waitForSelector("#waterfall-table .bar");
    expect(await page.$eval("#waterfall-table .bar", (b) => getComputedStyle(b).backgroundColor)).toBe(
      "rgb(240, 97, 109)",
    );
    await page.close();
  });

  it("shows a change's before/after as a unified diff in the history", async () => {
    const { version } = await mesh.apply(failOnHeader.replace("httpStatus: 503", "httpStatus: 502"));
    const page = await open();
    await page.click(`.show-diff[data-version="${version}"]`);
    await page.waitForSelector("pre.diff .d-removed");
    const diff = await page.$$eval("pre.diff span", (spans) => spans.map((s) => [s.className, s.textContent]));
    expect(diff).toContainEqual(["d-header", `--- v${version - 1}/TrafficPolicy/productpage`]);
    expect(diff).toContainEqual(["d-removed", "-      httpStatus: 503"]);
    expect(diff).toContainEqual(["d-added", "+      httpStatus: 502"]);
    expect(await page.$eval("pre.diff .d-removed", (e) => getComputedStyle(e).color)).toBe("rgb(240, 97, 109)");
    await page.close();
  });

  it.each([1440, 820])("keeps every element inside its panel at %i px", async (width) => {
    // A rollout waiting for canary traffic has the long message that used to overflow.
    await mesh.admin("/v1/resources/HTTPRoute/reviews", { method: "DELETE" });
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: reviews-v3 }
spec: { targetRef: { name: reviews }, stable: v2, canary: v3, steps: [10, 50, 100], interval: 1s, analysis: { minRequests: 1000, successRate: 99, inconclusiveLimit: 100 } }
`);
    const page = await open(width);
    await page.waitForFunction(
      () => /waiting: \d+ of 1000 canary requests/.test(document.querySelector("#rollouts")?.textContent ?? ""),
      null,
      { timeout: 15_000 },
    );
    await page.waitForSelector(".trace-row");
    await page.click(".trace-row");
    await page.waitForSelector("#waterfall-table tr");
    await page.waitForSelector("#services-table .spark");
    const escaped = await page.evaluate(() => {
      const out: string[] = [];
      for (const section of document.querySelectorAll("main section")) {
        const box = section.getBoundingClientRect();
        for (const el of section.querySelectorAll("*")) {
          const r = el.getBoundingClientRect();
          if (r.width === 0 && r.height === 0) continue;
          if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
            out.push(
              `${section.id} > ${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${el.className} [${Math.round(r.left)}..${Math.round(r.right)} outside ${Math.round(box.left)}..${Math.round(box.right)}]`,
            );
        }
      }
      if (document.documentElement.scrollWidth > window.innerWidth)
        out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
      return out;
    });
    expect(escaped).toEqual([]);
    expect(await unprintable(page)).toEqual([]);
    // The README's picture: Bookinfo with a Rollout waiting and a 503 trace open.
    if (SHOTS && width === 1440) await page.screenshot({ path: `${SHOTS}/dashboard.png`, fullPage: true });
    await page.close();
  });

  it.each([1440, 820])("reads at a glance at %i px: the graph fills its panel, no text under 11 px", async (width) => {
    for (let i = 0; i < 10; i++) await mesh.get("/productpage");
    const page = await open(width);
    await page.waitForFunction(
      () => {
        const cy = (window as any).isomeshDashboard.graph.cy;
        return cy.edges().length >= 5 && document.querySelector("#services-table .spark");
      },
      null,
      { timeout: 20_000 },
    );
    const graph = await page.evaluate(() => {
      const cy = (window as any).isomeshDashboard.graph.cy;
      const box = cy.elements().not(".hidden").renderedBoundingBox();
      const px = (ele: any) => parseFloat(ele.style("font-size")) * cy.zoom();
      return {
        width: cy.width(),
        height: cy.height(),
        box: { w: box.w, h: box.h },
        nodeText: Math.min(...cy.nodes().map(px)),
        edgeText: Math.min(...cy.edges(".labelled").map(px)),
        labelledEdges: cy.edges(".labelled").length,
      };
    });
    // ISOMESH_GLANCE_SHOTS=DIR keeps what this test saw, to look at (the README's picture is SHOTS').
    if (process.env.ISOMESH_GLANCE_SHOTS)
      await page.screenshot({ path: `${process.env.ISOMESH_GLANCE_SHOTS}/dashboard-${width}.png`, fullPage: true });
    // Fitted: the drawing spans the panel along one side and a good share of the other, not a thin strip.
    expect(Math.max(graph.box.w / graph.width, graph.box.h / graph.height)).toBeGreaterThan(0.85);
    expect(Math.min(graph.box.w / graph.width, graph.box.h / graph.height)).toBeGreaterThan(0.35);
    expect(graph.nodeText).toBeGreaterThanOrEqual(12);
    expect(graph.labelledEdges).toBe(5); // a small graph shows its rates on the edges…
    expect(graph.edgeText).toBeGreaterThanOrEqual(11); // …readable
    // Every text on the page as rendered (computed size of the element holding it).
    const small = await page.evaluate(() => {
      const out: string[] = [];
      const walker = document.createTreeWalker(document.body, 4 /* NodeFilter.SHOW_TEXT */);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent?.trim() || !el || !el.getClientRects().length) continue;
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (size < 11)
          out.push(`${el.tagName.toLowerCase()}.${el.className} ${size}px "${n.textContent.trim().slice(0, 30)}"`);
      }
      return out;
    });
    expect(small).toEqual([]);
    await page.close();
  });

  it("holds the trace list still under the pointer and while a trace is open, and says what waits", async () => {
    for (let i = 0; i < 3; i++) await mesh.get("/productpage");
    const page = await open();
    await page.waitForSelector(".trace-row");
    const ids = () => page.$$eval(".trace-row", (rows) => rows.map((r) => (r as any).dataset.trace));
    await page.hover("#traces-table");
    const shown = await ids();
    for (let i = 0; i < 3; i++) await mesh.get("/productpage");
    // The next polls see the new traces: the list says so and stays as it was.
    await page.waitForFunction(() => / newer/.test(document.querySelector("#traces-paused")?.textContent ?? ""), null, {
      timeout: 15_000,
    });
    expect(await page.textContent("#traces-paused")).toMatch(/^paused while the pointer is on the list · \d+ newer$/);
    expect(await ids()).toEqual(shown);
    // A click opens the trace that was under the pointer; the list holds while it is open.
    const clicked = shown.at(-1);
    await page.click(`.trace-row[data-trace="${clicked}"]`);
    await page.waitForSelector("#waterfall-table tr");
    expect(await page.textContent("#waterfall h3")).toContain(clicked);
    await page.mouse.move(0, 0);
    await mesh.get("/productpage");
    await page.waitForFunction(() =>
      /^paused while a trace is open/.test(document.querySelector("#traces-paused")?.textContent ?? ""),
    );
    expect(await ids()).toEqual(shown);
    expect(await page.getAttribute(`.trace-row[data-trace="${clicked}"]`, "class")).toContain("selected");
    await page.click("#close-trace");
    await page.mouse.move(0, 0); // the close button is on the list: the pointer leaves it
    await page.waitForFunction((before) => {
      const now = [...document.querySelectorAll(".trace-row")].map((r) => (r as any).dataset.trace);
      return now.join() !== before.join() && !document.querySelector("#traces-paused");
    }, shown);
    await page.close();
  });

  it("shows the gateway first in the services table, with the requests it refused", async () => {
    for (let i = 0; i < 3; i++) expect((await mesh.get("/no-such-page")).status).toBe(404);
    const page = await open();
    await page.waitForFunction(
      () =>
        /\d+ refused at the gateway/.test(
          document.querySelector('#services-table tr[data-service="gateway"]')?.textContent ?? "",
        ),
      null,
      { timeout: 15_000 },
    );
    const first = await page.$eval("#services-table tr:nth-child(2)", (tr) => (tr as any).dataset.service);
    expect(first).toBe("gateway");
    await page.close();
  });

  it("notices at once when the control plane is gone, shows the data's age, dims the panels, and recovers by itself", async () => {
    const page = await open();
    await page.waitForSelector("#updated.ok");
    expect(await page.isVisible("#conn-banner")).toBe(false);
    const opacities = () => page.$$eval("main section", (s) => s.map((e) => Number(getComputedStyle(e).opacity)));
    proxy.down();
    try {
      await page.waitForSelector("#conn-banner", { state: "visible", timeout: 8_000 });
      expect(await page.textContent("#conn-banner")).toMatch(
        /^Control plane unreachable \(cannot connect\) since .+\. Showing data from \d+ s ago; retrying every 2 s\.$/,
      );
      expect(await page.textContent("#converged")).toBe("edge sync unknown (offline)");
      await page.waitForFunction(() =>
        /offline · data [1-9]\d* s old/.test(document.querySelector("#updated")?.textContent ?? ""),
      );
      await page.waitForFunction(() =>
        [...document.querySelectorAll("main section")].every((e) => Number(getComputedStyle(e).opacity) <= 0.45),
      );
    } finally {
      proxy.up();
    }
    await page.waitForSelector("#conn-banner", { state: "hidden", timeout: 8_000 });
    expect(await page.textContent("#updated")).toMatch(/^live · updated /);
    await page.waitForFunction(() =>
      [...document.querySelectorAll("main section")].every((e) => getComputedStyle(e).opacity === "1"),
    );
    expect(await opacities()).toEqual([1, 1, 1, 1, 1, 1]);
    await page.close();
  });

  it("asks for a token when there is none, and a viewer cannot roll back", async () => {
    const page = await browser.newPage();
    await page.goto(`${proxy.url}/ui`);
    await page.waitForSelector("#login", { state: "visible" });
    await page.fill("#token-input", VIEWER_TOKEN);
    await page.click("#login-form button");
    await page.waitForSelector(".rollback");
    const dialogs: string[] = [];
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.accept();
    });
    await page.click(".rollback");
    await page.waitForFunction(() => true);
    for (let i = 0; i < 50 && dialogs.length < 2; i++) await page.waitForTimeout(100);
    expect(dialogs[1]).toMatch(/Rollback failed: .*role viewer/);
    await page.close();
  });

  // Last: it stops the mesh for good.
  it("shows the stale banner once the admin API itself stops", async () => {
    const page = await open();
    await page.waitForSelector("#updated.ok");
    await mesh.stop();
    meshStopped = true;
    await page.waitForSelector("#conn-banner", { state: "visible", timeout: 8_000 });
    expect(await page.textContent("#conn-banner")).toContain("Control plane unreachable");
    expect(await page.textContent("#converged")).not.toMatch(/100% of/);
    await page.close();
  });
});

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allReviewsV2, bookinfoGateway, bookinfoManifest } from "../helpers/bookinfo.ts";
import { launchChromium } from "../helpers/browser.ts";
import { startTestMesh, TEST_TOKEN, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

let mesh: TestMesh;
let browser: Browser;

beforeAll(async () => {
  mesh = await startTestMesh(bookinfoManifest());
  await mesh.apply(bookinfoGateway);
  await mesh.apply(allReviewsV2);
  for (let i = 0; i < 15; i++) await mesh.get("/productpage");
  ({ browser } = await launchChromium());
});
afterAll(async () => {
  await browser?.close();
  await mesh?.stop();
});

describe("dashboard in Chromium", () => {
  it("shows the Bookinfo graph, edge status, services and traces, and keeps the token out of the URL", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${mesh.adminUrl}/ui#token=${TEST_TOKEN}`);
    expect(page.url()).toBe(`${mesh.adminUrl}/ui`);
    expect(requests.every((u) => !u.includes(TEST_TOKEN))).toBe(true);

    await page.waitForSelector(".graph-node[data-id='ratings']", { timeout: 20_000 });
    const nodes = await page.$$eval(".graph-node", (els) => els.map((e) => e.getAttribute("data-id")).sort());
    expect(nodes).toEqual(["details", "external", "gateway", "productpage", "ratings", "reviews"]);
    expect(await page.$$eval(".graph-edge", (els) => els.length)).toBe(5);

    await page.waitForSelector("#edge-table td.ok");
    expect(await page.textContent("#version")).toMatch(/config version \d+/);
    expect(await page.textContent("#services")).toContain("productpage");
    expect(await page.textContent("#history-table")).toContain("HTTPRoute/reviews");

    await page.waitForSelector(".trace-row", { timeout: 10_000 });
    await page.click(".trace-row");
    await page.waitForSelector("#waterfall-table tr");
    expect(await page.$$eval("#waterfall-table tr", (rows) => rows.length)).toBeGreaterThanOrEqual(5);

    await page.screenshot({ path: "docs/img/dashboard.png", fullPage: true });
    await page.close();
  });

  it("asks for a token when there is none, and a viewer cannot roll back", async () => {
    const page = await browser.newPage();
    await page.goto(`${mesh.adminUrl}/ui`);
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
    await page.waitForFunction(() => true, null, { timeout: 500 }).catch(() => undefined);
    for (let i = 0; i < 20 && dialogs.length < 2; i++) await page.waitForTimeout(100);
    expect(dialogs[1]).toMatch(/Rollback failed: .*role viewer/);
    await page.close();
  });
});

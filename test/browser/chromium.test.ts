import { afterEach, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.ts";

const saved = process.env.ISOMESH_CHROMIUM;
afterEach(() => {
  if (saved === undefined) delete process.env.ISOMESH_CHROMIUM;
  else process.env.ISOMESH_CHROMIUM = saved;
});

describe("the browser suite needs no system Chromium", () => {
  it("falls back to the Chromium inside the @sparticuz/chromium package when none is installed", async () => {
    process.env.ISOMESH_CHROMIUM = "/nonexistent/chromium"; // as on a machine without Debian's
    const { browser, which } = await launchChromium();
    try {
      expect(which).toMatch(/^@sparticuz\/chromium/);
      for (let i = 0; i < 2; i++) {
        const page = await browser.newPage({ viewport: { width: 820, height: 600 } });
        await page.setContent('<body style="margin:0"><div id="box" style="width:50%">isomesh</div></body>');
        expect(await page.$eval("#box", (e) => [e.getBoundingClientRect().width, e.textContent])).toEqual([
          410,
          "isomesh",
        ]);
        await page.close(); // a second page after closing one: the package's --single-process flag would kill the browser here
      }
    } finally {
      await browser.close();
    }
  });
});

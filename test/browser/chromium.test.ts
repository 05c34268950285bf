import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("falls back to it when the system's Chromium exists but cannot start, and unpacks nothing into TMPDIR", async () => {
    const dir = mkdtempSync(join(tmpdir(), "isomesh-broken-chromium-"));
    try {
      const broken = join(dir, "chromium");
      writeFileSync(broken, "#!/bin/sh\necho 'error while loading shared libraries: libnss3.so' >&2\nexit 127\n");
      chmodSync(broken, 0o755);
      process.env.ISOMESH_CHROMIUM = broken;
      const before = readdirSync(tmpdir());
      const { browser, which } = await launchChromium();
      try {
        expect(which).toMatch(new RegExp(`^@sparticuz/chromium \\(.*\\) \\(${broken} cannot start: `));
        const page = await browser.newPage();
        await page.setContent("<p>isomesh</p>");
        expect(await page.textContent("p")).toBe("isomesh");
      } finally {
        await browser.close();
      }
      // The unpacked build (about 200 MB) lives in node_modules/.cache, reused by every run.
      expect(
        readdirSync(tmpdir()).filter((f) => !before.includes(f) && /chromium|fonts|al2023|swiftshader|\.so/.test(f)),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

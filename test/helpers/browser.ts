import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/**
 * Chromium for the browser suite: Debian's (`/usr/bin/chromium`) where it is installed, else the
 * build that ships inside the @sparticuz/chromium npm package, so `npm install && npm test` needs
 * nothing else. `ISOMESH_CHROMIUM=PATH` picks a binary; a path that does not exist (e.g. `none`)
 * forces the packaged build, which is how the fallback is tested on a machine that has Debian's.
 */
export async function launchChromium(): Promise<{ browser: Browser; which: string }> {
  const system = process.env.ISOMESH_CHROMIUM ?? "/usr/bin/chromium";
  const common = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
  if (existsSync(system))
    return {
      browser: await chromium.launch({ executablePath: system, args: ["--headless", ...common] }),
      which: system,
    };
  const packaged = (await import("@sparticuz/chromium")).default;
  // The package's flags (made for one-shot serverless use), less those that weaken what a page may
  // do (web security) and --single-process, in which the browser dies when a test closes a page.
  const args = packaged.args.filter(
    (a) => !/^--(disable-web-security|allow-running-insecure-content|single-process)$/.test(a),
  );
  const executablePath = await packaged.executablePath();
  return {
    browser: await chromium.launch({ executablePath, args: [...args, ...common], headless: true }),
    which: `@sparticuz/chromium (${executablePath})`,
  };
}

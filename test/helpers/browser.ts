import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";

/**
 * Where the packaged Chromium is unpacked (about 200 MB), once per install: @sparticuz/chromium
 * inflates into `os.tmpdir()` and reuses what it finds there, so it is pointed at a cache beside
 * the package (gone with node_modules) instead of leaving a copy in /tmp for every fresh TMPDIR.
 */
const PACKAGED_CACHE = join(REPO_ROOT, "node_modules/.cache/isomesh-chromium");

const COMMON = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium inside the @sparticuz/chromium npm package, unpacked into PACKAGED_CACHE. */
async function launchPackaged(): Promise<{ browser: Browser; path: string }> {
  const packaged = (await import("@sparticuz/chromium")).default;
  // The package's flags (made for one-shot serverless use), less those that weaken what a page may
  // do (web security) and --single-process, in which the browser dies when a test closes a page.
  const args = packaged.args.filter(
    (a) => !/^--(disable-web-security|allow-running-insecure-content|single-process)$/.test(a),
  );
  mkdirSync(PACKAGED_CACHE, { recursive: true });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = PACKAGED_CACHE; // os.tmpdir() reads it on every call, the package's too
  let path: string;
  try {
    path = await packaged.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  return { browser: await chromium.launch({ executablePath: path, args: [...args, ...COMMON], headless: true }), path };
}

/**
 * Chromium for the browser suite: Debian's (`/usr/bin/chromium`) where it is installed and starts,
 * else the build that ships inside the @sparticuz/chromium npm package (which needs Debian's
 * libnss3 and libnspr4, as README says). `ISOMESH_CHROMIUM=PATH` picks another binary; a path
 * that does not exist (e.g. `none`) forces the packaged build. A binary that exists but cannot
 * start (a broken or half-installed package) falls back to the packaged one, saying why in `which`.
 */
export async function launchChromium(): Promise<{ browser: Browser; which: string }> {
  const system = process.env.ISOMESH_CHROMIUM ?? "/usr/bin/chromium";
  let failed = "";
  if (existsSync(system))
    try {
      return {
        browser: await chromium.launch({ executablePath: system, args: ["--headless", ...COMMON] }),
        which: system,
      };
    } catch (e) {
      failed = ` (${system} cannot start: ${(e as Error).message.split("\n")[0]})`;
    }
  const { browser, path } = await launchPackaged();
  return { browser, which: `@sparticuz/chromium (${path})${failed}` };
}

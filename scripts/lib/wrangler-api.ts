import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Wrangler from "wrangler";
import type { Unstable_Config, Unstable_RawConfig } from "wrangler";

const require = createRequire(import.meta.url);
let loaded: typeof Wrangler | undefined;

/** wrangler's CLI, run as `node WRANGLER_BIN …` (the one this package depends on, wherever npm put it). */
export const WRANGLER_BIN = join(dirname(require.resolve("wrangler/package.json")), "bin/wrangler.js");
export const WRANGLER_VERSION = (require("wrangler/package.json") as { version: string }).version;

/**
 * wrangler's own exported API (config reader, config → Miniflare conversion, SQL splitter), loaded
 * on first use: its bundle takes ~0.6 s to load, which verbs that only talk to the admin API never pay.
 */
export const wrangler = (): typeof Wrangler => (loaded ??= require("wrangler") as typeof Wrangler);

/** wrangler's reader, typed (its declared return type lives in a package wrangler does not ship). */
export const readWranglerConfig = (configPath: string): Unstable_Config =>
  wrangler().unstable_readConfig({ config: configPath }, { hideWarnings: true }) as Unstable_Config;

/** The config as the user wrote it (paths relative to the file), read by wrangler's own parser. */
export const readRawWranglerConfig = (configPath: string): Unstable_RawConfig =>
  (wrangler().experimental_readRawConfig({ config: configPath }) as { rawConfig: Unstable_RawConfig }).rawConfig;

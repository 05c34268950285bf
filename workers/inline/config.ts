import type { InlineCallee } from "../dataplane/inline-env.ts";
import type { InlineAssets } from "./assets.ts";

/** What `isomesh gen` writes into an app's generated entry module (scripts/lib/gen-inline.ts). */
export type InlineConfig = {
  mesh: string;
  service: string;
  /** Present when this service is inline: its own inbound stages run before its app's handler (fetch and RPC). */
  inbound?: { edge: string; bootstrap: string };
  /** The app's named entrypoints its callers bind (`calls: [{ service, entrypoint }]`): meshed as its default export is. */
  entrypoints?: string[];
  /**
   * The inline services this app calls, by the binding name its `env` shows (env.RATINGS), and
   * the callee's named entrypoint the binding reaches (env.CART_CHECKOUT: `Checkout`).
   */
  calls: Record<string, InlineCallee & { entrypoint?: string }>;
  refreshIntervalMs?: number;
  accessLog?: string;
  traceSampling?: string;
  /** The public keys beacons are verified with (`BEACON_KEYS` at an edge). */
  beaconKeys: string;
  /** An inline version with static assets: its own settings, applied after the inbound half (assets.ts). */
  assets?: InlineAssets;
};

export type { InlineCallee };

import type { Unstable_RawConfig } from "wrangler";

/** A generated wrangler.json: wrangler's own config type (the file is read back by wrangler). */
export type WranglerConfig = Unstable_RawConfig & { $schema?: string; name: string; main: string };

/** How `isomesh dev` builds a worker's bundle. */
export type WorkerBuild =
  /** The mesh's own workers and bare entry files: esbuild in process, from this entry. */
  | { kind: "esbuild"; entry: string }
  /** An edge: the mesh's one edge bundle, with this edge's bootstrap snapshot as a text module beside it. */
  | { kind: "edge"; bundle: string; bootstrap: string; inline: string }
  /** A Workers project: wrangler builds it from the generated config, exactly as `wrangler deploy` does. */
  | { kind: "wrangler"; projectDir: string; userConfigPath: string };

/** One generated worker: its role in the mesh and its config. */
export type GeneratedWorker = {
  role: "control" | "gateway" | "edge" | "egress" | "app";
  service?: string;
  version?: string;
  /** The short name users see (gateway, reviews-edge, reviews-v1, control); config.name is the Worker's name on the account. */
  name: string;
  /** An app version whose service runs inline: its inbound stages run in it (no edge in front). */
  inlineInbound?: boolean;
  config: WranglerConfig;
  build: WorkerBuild;
  configPath: string;
};

import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "../lib/paths.ts";
import { CliError } from "./client.ts";
import { DataPlane } from "../../shared/manifest/data-plane.ts";

/** `--trace-sampling`: a share from 0 to 1, or a one-line reason why not. */
export function samplingRate(text: string): number {
  const rate = Number(text);
  if (text.trim() === "" || !(rate >= 0 && rate <= 1))
    throw new CliError(`--trace-sampling must be a number from 0 to 1 (got ${JSON.stringify(text)})`);
  return rate;
}

/** `--access-log`: on, off or a share from 0 to 1 of requests logged, or a one-line reason why not. */
export function accessLogMode(text: string): string {
  if (text === "on" || text === "off") return text;
  const rate = Number(text);
  if (text.trim() === "" || !(rate >= 0 && rate <= 1))
    throw new CliError(`--access-log must be on, off or a number from 0 to 1 (got ${JSON.stringify(text)})`);
  return text;
}

/** Production's defaults (Istio's default profile samples 1% of traces; access logs are opt-in at scale). */
export const TRACE_SAMPLING_OPTION = [
  "--trace-sampling <rate>",
  "share of new traces recorded as spans, 0..1 (Istio's default profile: 0.01)",
  "0.01",
] as const;
export const ACCESS_LOG_OPTION = [
  "--access-log <mode>",
  "JSON access-log lines: on, off or the share of requests logged",
  "off",
] as const;

export const MANIFEST_OPTION = ["-m, --manifest <file>", "mesh manifest (default: ./mesh.yaml)"] as const;

/** `-m`, else ./mesh.yaml (as wrangler reads ./wrangler.json); a missing manifest is a one-line reason. */
export function manifestPath(given: string | undefined): string {
  if (given !== undefined) {
    if (!existsSync(given)) throw new CliError(`manifest ${given} not found`);
    return given;
  }
  if (existsSync("mesh.yaml")) return "mesh.yaml";
  const example = relative(process.cwd(), join(REPO_ROOT, "examples/bookinfo/mesh.yaml"));
  throw new CliError(`no mesh.yaml in ${process.cwd()}: pass -m FILE (e.g. -m ${example}, the Bookinfo example)`);
}

/** `--data-plane`: the mesh's default data plane for this run (services that set their own keep it). */
export const DATA_PLANE_OPTION = [
  "--data-plane <mode>",
  "where the mesh's stages run for services that do not say: edge or inline (default: the manifest's dataPlane)",
] as const;

export function dataPlaneOption(text: string | undefined): DataPlane | undefined {
  if (text === undefined) return undefined;
  const mode = DataPlane.safeParse(text);
  if (!mode.success) throw new CliError(`--data-plane must be edge or inline (got ${JSON.stringify(text)})`);
  return mode.data;
}

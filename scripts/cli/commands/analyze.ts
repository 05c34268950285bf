import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { analyze } from "../../../shared/analyze/index.ts";
import { topologyOf } from "../../../shared/manifest/topology.ts";
import { splitDocuments, validateDocuments } from "../../../shared/resources/parse.ts";
import { loadDefaults, loadManifest } from "../../lib/gen.ts";
import { adoptProjects } from "../../lib/adopt.ts";
import { AdminClient, CliError } from "../client.ts";
import { manifestPath } from "../options.ts";
import { c, printStructured } from "../output.ts";

type Issue = { resource: string; path: string; message: string };

const identity = (doc: unknown) => {
  const d = doc as { kind?: unknown; metadata?: { name?: unknown } } | null;
  return `${String(d?.kind)}/${String(d?.metadata?.name)}`;
};

/**
 * `analyze --local`: the files checked against the manifest alone, over its `defaults` as a mesh
 * started from it holds them. A file's resource replaces the default of the same kind and name,
 * as applying it would (the shop's catalog-rpc.yaml changes the default HTTPRoute/catalog).
 */
export function analyzeLocally(manifestFile: string, text: string): { errors: Issue[]; warnings: Issue[] } {
  const manifest = loadManifest(manifestFile);
  const split = splitDocuments(text);
  const named = new Set(split.docs.map(identity));
  const defaults = loadDefaults(manifest, manifestFile).filter((d) => !named.has(identity(d)));
  const { parsed, errors, warnings } = validateDocuments([...defaults, ...split.docs]);
  const checked =
    errors.length || split.errors.length
      ? { errors: [...split.errors, ...errors], warnings: [] }
      : analyze(
          topologyOf(adoptProjects(manifest, manifestFile).manifest), // the apps' own bindings are calls too
          parsed.map((p) => p.resource),
          { full: true },
        );
  return { ...checked, warnings: [...warnings, ...checked.warnings] };
}

/** Runs the control plane's checks: against the admin API, or `--local` against a manifest alone. */
export function registerAnalyze(program: Command) {
  program
    .command("analyze")
    .description(
      "check the config as a whole (like istioctl analyze): errors would reject an apply, warnings would not",
    )
    .option("-f, --file <files...>", "resources to analyze as if applied")
    .option("--local", "no control plane: check the files against the manifest")
    .option("-m, --manifest <file>", "manifest for --local (default: ./mesh.yaml)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { file?: string[]; local?: boolean; manifest?: string; output?: string }, cmd: Command) => {
      const text = (o.file ?? []).map((f) => readFileSync(f === "-" ? 0 : f, "utf8")).join("\n---\n");
      let result: { errors: Issue[]; warnings: Issue[] };
      if (o.local) {
        result = analyzeLocally(manifestPath(o.manifest), text);
      } else result = await AdminClient.from(cmd.optsWithGlobals()).call("POST", "/v1/analyze", text || undefined);
      if (!printStructured(o.output, result)) {
        for (const e of result.errors)
          console.log(`${c.red("Error")}   ${e.resource}${e.path ? ` ${e.path}` : ""}: ${e.message}`);
        for (const w of result.warnings)
          console.log(`${c.yellow("Warning")} ${w.resource}${w.path ? ` ${w.path}` : ""}: ${w.message}`);
        if (!result.errors.length && !result.warnings.length) console.log(c.green("✔ no problems found"));
      }
      if (result.errors.length) throw new CliError(`${result.errors.length} error(s)`);
    });
}

import type { Command } from "commander";
import { AdminClient, CliError, describeIssue } from "../client.ts";
import { c, printStructured, table } from "../output.ts";
import { readFiles } from "../files.ts";
import { diffFiles, historyEntryText, paintDiffLine } from "../diff.ts";

type Globals = { admin?: string; token?: string };
const clientOf = (cmd: Command) => AdminClient.from(cmd.optsWithGlobals<Globals>());

/** A config version argument: a non-negative integer, or a one-line reason. */
function configVersion(text: string): number {
  if (!/^\d+$/.test(text))
    throw new CliError(
      `VERSION must be a config version (a whole number, see \`isomesh history\`), got ${JSON.stringify(text)}`,
    );
  return Number(text);
}

const opColor = (op: string) => (op === "added" ? c.green(op) : op === "removed" ? c.red(op) : c.yellow(op));

function printChanges(
  res: {
    version: number;
    changes: { kind: string; name: string; op: string; fields?: string[] }[];
    warnings: { resource: string; path: string; message: string }[];
    republished: string[];
  },
  dryRun: boolean,
) {
  if (res.changes.length === 0) console.log("no changes");
  for (const ch of res.changes)
    console.log(
      `${ch.kind}/${ch.name} ${opColor(ch.op)}${ch.fields?.length ? c.dim(` (${ch.fields.join(", ")})`) : ""}`,
    );
  for (const w of res.warnings) console.log(`${c.yellow("warning")} ${w.resource} ${w.path}: ${w.message}`);
  if (res.changes.length)
    console.log(
      c.dim(
        `${dryRun ? "would be " : ""}version ${res.version}; snapshots ${dryRun ? "to rebuild" : "rebuilt"}: ${res.republished.join(", ") || "none"}`,
      ),
    );
}

export function registerConfigCommands(program: Command) {
  program
    .command("apply")
    .description("create or update resources from YAML/JSON files")
    .requiredOption("-f, --file <files...>", "resource files (- for stdin)")
    .option("--dry-run", "validate and show the diff without storing")
    .option("--wait", "return only when every edge runs the change")
    .option("--timeout <duration>", "how long --wait waits", "5s")
    .option("--if-match <version>", "only apply if the config is at this version")
    .option("-o, --output <format>", "json or yaml")
    .action(
      async (
        o: { file: string[]; dryRun?: boolean; wait?: boolean; timeout: string; ifMatch?: string; output?: string },
        cmd: Command,
      ) => {
        const q = new URLSearchParams({
          ...(o.dryRun ? { dryRun: "true" } : {}),
          ...(o.wait ? { wait: "true", timeout: o.timeout } : {}),
        });
        const client = clientOf(cmd);
        const res = await client.request(
          "POST",
          `/v1/apply?${q}`,
          readFiles(o.file),
          o.ifMatch ? { "if-match": o.ifMatch } : {},
        );
        const refused = client.refusal(res.status, res.body);
        if (refused) throw new CliError(`apply: ${refused}; nothing was stored`);
        if (res.status !== 200 && res.status !== 202) {
          if (!printStructured(o.output, res.body) && res.body?.errors)
            for (const e of res.body.errors) console.error(`${c.red("error")} ${describeIssue(e)}`);
          throw new CliError(
            res.status === 409
              ? "version conflict: the config changed since --if-match"
              : `apply rejected (${res.status}), nothing was stored`,
          );
        }
        if (printStructured(o.output, res.body)) return;
        printChanges(res.body, !!o.dryRun);
        if (res.status === 202)
          throw new CliError(
            `not converged within ${o.timeout}: ${res.body.behind.map((b: { edge: string }) => b.edge).join(", ")}`,
            2,
          );
        if (o.wait && res.body.converged) console.log(c.green("every edge runs it"));
      },
    );

  program
    .command("diff")
    .description(
      "a unified diff of every resource the files would change, like kubectl diff (exit 0: no changes, 1: changes, 2: error)",
    )
    .requiredOption("-f, --file <files...>", "resource files (- for stdin)")
    .option("-o, --output <format>", "json or yaml")
    // kubectl diff's exit codes: anything that is not a comparison (bad flags included) is > 1.
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
    .action(async (o: { file: string[]; output?: string }, cmd: Command) => {
      const result = await diffFiles(clientOf(cmd), o.file).catch((e: Error) => {
        throw new CliError(e.message, 2);
      });
      if (!printStructured(o.output, result)) {
        for (const w of result.warnings) console.error(`${c.yellow("warning")} ${describeIssue(w)}`);
        for (const d of result.diffs) console.log(d.lines.map(paintDiffLine).join("\n"));
      }
      if (result.diffs.length) process.exitCode = 1;
    });

  program
    .command("get [kind] [name]")
    .description("list resources (all, of a kind, or one)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (kind: string | undefined, name: string | undefined, o: { output?: string }, cmd: Command) => {
      const path = ["/v1/resources", kind, name].filter(Boolean).join("/");
      const res = await clientOf(cmd).call("GET", path);
      if (printStructured(o.output, res)) return;
      const items = name ? [res] : res.items;
      if (!items.length) return console.log("no resources");
      // Routes and policies show what they attach to; an ExternalService shows the hosts it opens.
      const attached = (r: any) =>
        (r.kind === "ExternalService"
          ? r.spec.hosts
          : (r.spec.parentRefs ?? r.spec.targetRefs ?? (r.spec.targetRef ? [r.spec.targetRef] : [])).map(
              (p: any) => p.name,
            )
        ).join(",");
      console.log(
        table(
          ["KIND", "NAME", "PARENTS/TARGETS/HOSTS"],
          items.map((r: any) => [r.kind, r.metadata.name, attached(r)]),
        ),
      );
    });

  program
    .command("delete <kind> <name>")
    .description("delete one resource (a new version)")
    .option("--if-match <version>", "only delete if the config is at this version")
    .action(async (kind: string, name: string, o: { ifMatch?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call(
        "DELETE",
        `/v1/resources/${kind}/${name}`,
        undefined,
        o.ifMatch ? { "if-match": o.ifMatch } : {},
      );
      console.log(`${kind}/${name} ${c.red("removed")} ${c.dim(`(version ${res.version})`)}`);
    });

  program
    .command("history [version]")
    .description("who changed what and when; with VERSION, that change's before/after as a diff")
    .option("-o, --output <format>", "json or yaml")
    .option("--limit <n>", "entries", "20")
    .action(async (version: string | undefined, o: { output?: string; limit: string }, cmd: Command) => {
      if (version !== undefined) {
        const entry = await clientOf(cmd).call("GET", `/v1/history/${configVersion(version)}`);
        if (!printStructured(o.output, entry)) console.log(historyEntryText(entry));
        return;
      }
      const res = await clientOf(cmd).call("GET", `/v1/history?limit=${Number(o.limit)}`);
      if (printStructured(o.output, res)) return;
      console.log(
        table(
          ["VERSION", "AT", "BY", "CHANGES"],
          res.entries.map((e: any) => [
            e.version,
            e.at,
            e.by,
            e.changes.map((ch: any) => `${ch.op} ${ch.kind}/${ch.name}`).join(", ") +
              (e.note ? c.dim(` (${e.note})`) : ""),
          ]),
        ),
      );
    });

  program
    .command("rollback <version>")
    .description("restore the config of an earlier version, as a new version")
    .option("-o, --output <format>", "json or yaml")
    .action(async (version: string, o: { output?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call(
        "POST",
        "/v1/rollback?wait=true",
        JSON.stringify({ version: configVersion(version) }),
        { "content-type": "application/json" },
      );
      if (!printStructured(o.output, res)) printChanges(res, false);
    });

  program
    .command("version")
    .description("the config version the control plane serves (the CLI's own version: isomesh --version)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { output?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call("GET", "/v1/version");
      if (!printStructured(o.output, res)) console.log(res.version);
    });

  program
    .command("status")
    .description("which config version each edge runs (like istioctl proxy-status)")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: { output?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call("GET", "/v1/status");
      if (printStructured(o.output, res)) return;
      const state = (s: string) =>
        s === "synced" ? c.green(s) : s === "rejected" ? c.red(s) : s === "idle" ? c.dim(s) : c.yellow(s);
      console.log(`config version ${res.version}, ${Math.round(res.converged * 100)}% of live edges converged\n`);
      console.log(
        table(
          ["EDGE", "STATE", "VERSION", "ISOLATES", "LAST SEEN", "ERROR"],
          res.edges.map((e: any) => [e.edge, state(e.state), e.version, e.isolates, e.lastSeen, e.error]),
        ),
      );
    });
}

import { splitDocuments } from "../../shared/resources/parse.ts";
import type { ResourceIssue } from "../../shared/resources/issues.ts";
import { type DiffLine, unifiedDiff } from "../../shared/resources/yaml-diff.ts";
import { type AdminClient, CliError, describeError, describeIssue } from "./client.ts";
import { readFiles } from "./files.ts";
import { c } from "./output.ts";

type Doc = { kind: string; metadata: { name: string } };
export type ResourceDiff = { kind: string; name: string; op: "added" | "changed"; lines: DiffLine[] };
export type DiffResult = {
  version: number;
  changes: { kind: string; name: string; op: string }[];
  warnings: ResourceIssue[];
  diffs: ResourceDiff[];
};

const isDoc = (d: unknown): d is Doc =>
  !!d && typeof d === "object" && typeof (d as Doc).kind === "string" && typeof (d as Doc).metadata?.name === "string";

/**
 * What `kubectl diff` does: the server validates the files (a dry-run apply, so every check an
 * apply runs), and the diff is computed here, from the live resources to the files' documents.
 */
export async function diffFiles(client: AdminClient, files: string[]): Promise<DiffResult> {
  const body = readFiles(files);
  const dry = await client.request("POST", "/v1/apply?dryRun=true", body);
  if (dry.status !== 200) {
    if (dry.body?.errors)
      for (const e of dry.body.errors as ResourceIssue[]) console.error(`${c.red("error")} ${describeIssue(e)}`);
    throw new CliError(
      dry.body?.errors
        ? `the files are not valid (${dry.status}), nothing to compare`
        : describeError(dry.status, dry.body),
      2,
    );
  }
  const live: Doc[] = (await client.call("GET", "/v1/resources")).items;
  const liveOf = (d: Doc) => live.find((l) => l.kind === d.kind && l.metadata.name === d.metadata.name) ?? null;
  const diffs: ResourceDiff[] = [];
  for (const doc of splitDocuments(body).docs.filter(isDoc)) {
    const before = liveOf(doc);
    const lines = unifiedDiff(`${doc.kind}/${doc.metadata.name}`, before, doc, { from: "live", to: "file" });
    if (lines.length) diffs.push({ kind: doc.kind, name: doc.metadata.name, op: before ? "changed" : "added", lines });
  }
  // The server is the judge of what changes; a change it sees that the text does not show is still a change.
  for (const ch of dry.body.changes as DiffResult["changes"])
    if (!diffs.some((d) => d.kind === ch.kind && d.name === ch.name))
      diffs.push({
        kind: ch.kind,
        name: ch.name,
        op: "changed",
        lines: [{ kind: "header", text: `${ch.kind}/${ch.name} ${ch.op} (as the server reads it)` }],
      });
  return { version: dry.body.version, changes: dry.body.changes, warnings: dry.body.warnings ?? [], diffs };
}

export const paintDiffLine = (l: DiffLine) =>
  l.kind === "header"
    ? c.bold(l.text)
    : l.kind === "hunk"
      ? c.cyan(l.text)
      : l.kind === "removed"
        ? c.red(l.text)
        : l.kind === "added"
          ? c.green(l.text)
          : l.text;

type HistoryEntry = {
  version: number;
  at: string;
  by: string;
  note?: string;
  changes: { kind: string; name: string; op: string }[];
  resources: { kind: string; name: string; before: unknown; after: unknown }[];
};

/** One history entry (`GET /v1/history/VERSION`): who, when, and each resource's before/after as a diff. */
export function historyEntryText(e: HistoryEntry): string {
  const out = [`${c.bold(`version ${e.version}`)}  ${e.at}  by ${e.by}${e.note ? c.dim(`  (${e.note})`) : ""}`];
  for (const r of e.resources) {
    const id = `${r.kind}/${r.name}`;
    const op =
      e.changes.find((ch) => ch.kind === r.kind && ch.name === r.name)?.op ??
      (r.before ? (r.after ? "changed" : "removed") : "added");
    out.push("", `${id} ${op}`);
    const lines = unifiedDiff(
      id,
      r.before,
      r.after,
      { from: `v${e.version - 1}`, to: `v${e.version}` },
      { withStatus: true },
    );
    // The diff(1) command line means nothing here: which versions are compared is in the ---/+++ lines.
    out.push(...lines.slice(1).map(paintDiffLine));
    if (!lines.length) out.push(c.dim("  (no change)"));
  }
  return out.join("\n");
}

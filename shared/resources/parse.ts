import { Composer, type Document as YamlDocument, LineCounter, Parser } from "yaml";
import { KINDS, resolveKind, type Resource } from "./index.ts";
import { describeIssues, type ResourceIssue } from "./issues.ts";
import { cstDepth, exceedsNestingLimit, LIMITS, nestedTooDeep, tooManyAliases, tooManyDocuments } from "./limits.ts";

/** A resource as the user wrote it (validated), which is what the store keeps and `get` returns. */
export type Document = {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, string | Record<string, string>>;
  spec: Record<string, {}>;
};
export type Parsed = { doc: Document; resource: Resource };

/**
 * Splits a request body (YAML multi-document, a JSON object, a JSON array or a List) into documents,
 * within the documents, depth and aliases limits (limits.ts): a hostile body is an error naming the
 * limit, found before it costs more than a linear scan.
 */
export function splitDocuments(text: string): { docs: unknown[]; errors: ResourceIssue[] } {
  if (exceedsNestingLimit(text)) return { docs: [], errors: [nestedTooDeep()] };
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let docs: unknown[];
    try {
      docs = unwrapList(JSON.parse(trimmed));
    } catch (e) {
      return { docs: [], errors: [{ resource: "(body)", path: "", message: `invalid JSON: ${(e as Error).message}` }] };
    }
    return docs.length > LIMITS.documents ? { docs: [], errors: [tooManyDocuments()] } : { docs, errors: [] };
  }
  const docs: unknown[] = [];
  const errors: ResourceIssue[] = [];
  const lines = new LineCounter();
  const composer = new Composer();
  let n = 0;
  const take = (d: YamlDocument.Parsed) => {
    const label = `(document ${++n})`;
    if (d.errors.length) {
      const { line, col } = lines.linePos(d.errors[0].pos[0]);
      return void errors.push({
        resource: label,
        path: "",
        message: `invalid YAML: ${d.errors[0].message} at line ${line}, column ${col}`,
      });
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: LIMITS.aliases });
    } catch (e) {
      if (e instanceof ReferenceError && /alias/i.test(e.message)) return void errors.push(tooManyAliases(label));
      return void errors.push({ resource: label, path: "", message: `invalid YAML: ${(e as Error).message}` });
    }
    if (value !== null && value !== undefined) docs.push(...unwrapList(value));
  };
  let count = 0;
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    if (token.type === "document") {
      if (++count > LIMITS.documents) return { docs: [], errors: [tooManyDocuments()] };
      if (cstDepth(token) > LIMITS.depth) return { docs: [], errors: [nestedTooDeep(`(document ${count})`)] };
    }
    for (const d of composer.next(token)) take(d);
  }
  for (const d of composer.end(false, text.length)) take(d);
  if (docs.length > LIMITS.documents) return { docs: [], errors: [tooManyDocuments()] };
  return { docs, errors };
}

function unwrapList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object" && (value as { kind?: unknown }).kind === "List")
    return ((value as { items?: unknown[] }).items ?? []) as unknown[];
  return [value];
}

/**
 * Validates documents against their kind's schema, strictly: unknown fields are errors (kubectl's
 * strict field validation). Every problem is reported. A `status` is the control plane's to write:
 * it is dropped with a warning, as the Kubernetes API drops status on create.
 */
export function validateDocuments(docs: unknown[]): {
  parsed: Parsed[];
  errors: ResourceIssue[];
  warnings: ResourceIssue[];
} {
  const parsed: Parsed[] = [];
  const errors: ResourceIssue[] = [];
  const warnings: ResourceIssue[] = [];
  const seen = new Set<string>();
  docs.forEach((raw, i) => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      errors.push({
        resource: `(document ${i + 1})`,
        path: "",
        message: "expected an object with apiVersion, kind, metadata and spec",
      });
      return;
    }
    const obj = raw as Record<string, unknown>;
    const name = (obj.metadata as { name?: unknown } | undefined)?.name;
    const label = `${String(obj.kind ?? "?")}/${typeof name === "string" ? name : "?"}`;
    const kind = typeof obj.kind === "string" ? resolveKind(obj.kind) : undefined;
    if (!kind || kind !== obj.kind) {
      errors.push({
        resource: label,
        path: "kind",
        message: `unknown kind ${JSON.stringify(obj.kind)} (expected one of ${Object.keys(KINDS).join(", ")})`,
      });
      return;
    }
    const { status, ...doc } = obj;
    const result = KINDS[kind].safeParse(doc);
    if (!result.success) {
      for (const issue of describeIssues(KINDS[kind], doc, result.error.issues))
        errors.push({ resource: label, ...issue });
      return;
    }
    if (status !== undefined)
      warnings.push({
        resource: label,
        path: "status",
        message: "status is written by the control plane; the status sent was ignored",
      });
    if (seen.has(label)) {
      errors.push({ resource: label, path: "metadata.name", message: "the same resource appears twice in one apply" });
      return;
    }
    seen.add(label);
    parsed.push({ doc: doc as Document, resource: result.data as Resource });
  });
  return { parsed, errors, warnings };
}

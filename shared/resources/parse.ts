import { parseAllDocuments } from "yaml";
import { KINDS, resolveKind, type Resource } from "./index.ts";
import { describeIssues, type ResourceIssue } from "./issues.ts";

/** A resource as the user wrote it (validated), which is what the store keeps and `get` returns. */
export type Document = { apiVersion: string; kind: string; metadata: { name: string } & Record<string, string | Record<string, string>>; spec: Record<string, {}> };
export type Parsed = { doc: Document; resource: Resource };

/** Splits a request body (YAML multi-document, a JSON object, a JSON array or a List) into documents. */
export function splitDocuments(text: string): { docs: unknown[]; errors: ResourceIssue[] } {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return { docs: unwrapList(JSON.parse(trimmed)), errors: [] };
    } catch (e) {
      return { docs: [], errors: [{ resource: "(body)", path: "", message: `invalid JSON: ${(e as Error).message}` }] };
    }
  }
  const docs: unknown[] = [];
  const errors: ResourceIssue[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length) errors.push({ resource: `(document ${i + 1})`, path: "", message: `invalid YAML: ${d.errors[0].message}` });
    else {
      const value = d.toJS();
      if (value !== null && value !== undefined) docs.push(...unwrapList(value));
    }
  });
  return { docs, errors };
}

function unwrapList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object" && (value as { kind?: unknown }).kind === "List") return ((value as { items?: unknown[] }).items ?? []) as unknown[];
  return [value];
}

/**
 * Validates documents against their kind's schema, strictly: unknown fields are errors (kubectl's
 * strict field validation). Every problem is reported. A `status` is the control plane's to write:
 * it is dropped with a warning, as the Kubernetes API drops status on create.
 */
export function validateDocuments(docs: unknown[]): { parsed: Parsed[]; errors: ResourceIssue[]; warnings: ResourceIssue[] } {
  const parsed: Parsed[] = [];
  const errors: ResourceIssue[] = [];
  const warnings: ResourceIssue[] = [];
  const seen = new Set<string>();
  docs.forEach((raw, i) => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      errors.push({ resource: `(document ${i + 1})`, path: "", message: "expected an object with apiVersion, kind, metadata and spec" });
      return;
    }
    const obj = raw as Record<string, unknown>;
    const name = (obj.metadata as { name?: unknown } | undefined)?.name;
    const label = `${String(obj.kind ?? "?")}/${typeof name === "string" ? name : "?"}`;
    const kind = typeof obj.kind === "string" ? resolveKind(obj.kind) : undefined;
    if (!kind || kind !== obj.kind) {
      errors.push({ resource: label, path: "kind", message: `unknown kind ${JSON.stringify(obj.kind)} (expected one of ${Object.keys(KINDS).join(", ")})` });
      return;
    }
    const { status, ...doc } = obj;
    const result = KINDS[kind].safeParse(doc);
    if (!result.success) {
      for (const issue of describeIssues(KINDS[kind], doc, result.error.issues)) errors.push({ resource: label, ...issue });
      return;
    }
    if (status !== undefined) warnings.push({ resource: label, path: "status", message: "status is written by the control plane; the status sent was ignored" });
    if (seen.has(label)) {
      errors.push({ resource: label, path: "metadata.name", message: "the same resource appears twice in one apply" });
      return;
    }
    seen.add(label);
    parsed.push({ doc: doc as Document, resource: result.data as Resource });
  });
  return { parsed, errors, warnings };
}

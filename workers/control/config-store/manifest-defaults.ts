import { type Document, validateDocuments } from "../../../shared/resources/parse.ts";

// `isomesh gen` for production writes the manifest's `defaults` into the control plane's build as
// this define (a JSON text): a var would be capped at 5 KB, and no CLI is attached when a deployed
// control plane first starts. Locally `isomesh dev` applies them through the admin API instead (and
// prints what it applied), so local builds leave it undefined.
declare const __ISOMESH_DEFAULTS__: string | undefined;

/** The defaults built into this control plane, validated again; none (with a logged reason) when they do not parse. */
export function builtInDefaults(
  text = typeof __ISOMESH_DEFAULTS__ === "string" ? __ISOMESH_DEFAULTS__ : undefined,
): Document[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    console.error(
      JSON.stringify({ level: "error", msg: "built-in defaults are not JSON: none applied", error: String(e) }),
    );
    return [];
  }
  const { parsed, errors } = validateDocuments(Array.isArray(raw) ? raw : [raw]);
  if (errors.length) {
    console.error(JSON.stringify({ level: "error", msg: "built-in defaults are invalid: none applied", errors }));
    return [];
  }
  return parsed.map((p) => p.doc);
}

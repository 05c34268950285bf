import { parse as parseYaml } from "yaml";
import { Manifest } from "./schema.ts";
import { describeIssues } from "../resources/issues.ts";

/** Parses and validates a manifest; errors name the file, the field and what is wrong. */
export function parseManifest(text: string, file = "mesh.yaml"): Manifest {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new Error(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  const result = Manifest.safeParse(raw);
  if (!result.success) {
    // As the resources' errors: an unknown field with its did-you-mean, and not also the field it meant as missing.
    const lines = describeIssues(Manifest, raw, result.error.issues).map(
      (i) => `${file}: ${i.path || "(root)"}: ${i.message}`,
    );
    throw new Error(lines.join("\n"));
  }
  return result.data;
}

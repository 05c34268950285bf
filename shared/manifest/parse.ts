import { parse as parseYaml } from "yaml";
import { Manifest } from "./schema.ts";
import { formatPath } from "../resources/issues.ts";

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
    const lines = result.error.issues.map((i) => `${file}: ${formatPath(i.path) || "(root)"}: ${i.message}`);
    throw new Error(lines.join("\n"));
  }
  return result.data;
}

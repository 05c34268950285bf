import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { analyze } from "../../shared/analyze/index.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import type { Resource } from "../../shared/resources/index.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { describeIssue } from "../../scripts/cli/client.ts";

/**
 * Every YAML a user may copy: each file under examples/ and each ```yaml block of the README and
 * docs/*.md parses and passes the same validation the admin API (or `isomesh gen`) applies, so a
 * doc cannot drift from the schemas. A block is resource documents, a manifest (fields of
 * mesh.yaml, `name`/`services` supplied when the block shows only other fields), or a Prometheus
 * config (checked by promtool).
 */
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

const docs = [
  "README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f)),
];
const blocks = docs.flatMap((file) => {
  const out: { where: string; text: string }[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ya?ml\s*$/.test(lines[i])) continue;
    const start = i + 1;
    while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]));
    out.push({ where: `${file}:${start}`, text: lines.slice(start, i).join("\n") });
  }
  return out;
});

type Kind = "resources" | "manifest" | "prometheus";
function kindOf(text: string): Kind {
  const first = parseAllDocuments(text)[0]?.toJS() as Record<string, unknown> | null;
  if (first && "scrape_configs" in first) return "prometheus";
  if (first && ("apiVersion" in first || "kind" in first)) return "resources";
  return "manifest";
}

/** Problems of one YAML text, as `resource path: message` lines (empty when valid). */
function problems(text: string, kind: Kind): string[] {
  if (kind === "prometheus") return promtool(text);
  if (kind === "manifest") {
    const parsed = parseAllDocuments(text);
    if (parsed[0]?.errors.length) return [`invalid YAML: ${parsed[0].errors[0].message}`];
    const m = (parsed[0]?.toJS() ?? {}) as Record<string, unknown>;
    try {
      parseManifest(
        JSON.stringify({ name: "docs", services: [{ name: "web", versions: [{ name: "v1", echo: true }] }], ...m }),
      );
      return [];
    } catch (e) {
      return (e as Error).message.split("\n");
    }
  }
  const split = splitDocuments(text);
  const { errors } = validateDocuments(split.docs);
  return [...split.errors, ...errors].map(describeIssue);
}

function promtool(text: string): string[] {
  const bin = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find(existsSync);
  if (!bin) {
    // CI installs Debian's prometheus package (.ci/run); locally promtool is optional, so check the shape.
    if (process.env.CI) return ["promtool is required in CI"];
    const config = parseAllDocuments(text)[0]?.toJS() as {
      scrape_configs?: { job_name?: unknown; static_configs?: unknown }[];
    };
    return config.scrape_configs?.every((j) => typeof j.job_name === "string" && Array.isArray(j.static_configs))
      ? []
      : ["scrape_configs need job_name and static_configs"];
  }
  const dir = mkdtempSync(join(tmpdir(), "isomesh-prom-"));
  try {
    writeFileSync(join(dir, "prometheus.yml"), text);
    const r = spawnSync(bin, ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });
    return r.status === 0 ? [] : [(r.stderr || r.stdout).trim()];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("every YAML in the docs and examples is valid", () => {
  it("finds the blocks and files it checks", () => {
    expect(blocks.length).toBeGreaterThan(15);
    expect(files("examples").filter((f) => /\.ya?ml$/.test(f)).length).toBeGreaterThan(15);
  });

  it.each(blocks.map((b) => [b.where, b] as const))("%s", (_where, b) => {
    expect(problems(b.text, kindOf(b.text))).toEqual([]);
  });

  it.each(
    files("examples")
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => [relative(".", f)]),
  )("%s", (file) => {
    const text = readFileSync(file, "utf8");
    const kind = /(^|\/)mesh[^/]*\.ya?ml$/.test(file) ? "manifest" : "resources";
    expect(problems(text, kind)).toEqual([]);
  });

  // Bookinfo's task and security files are meant to be applied to the Bookinfo mesh: beyond the
  // schema, every service, version and gateway they name must exist there (the checks apply runs).
  it.each(
    files("examples/bookinfo")
      .filter((f) => /\/(tasks|security)\/.*\.ya?ml$/.test(f))
      .map((f) => [relative(".", f)]),
  )("%s applies to Bookinfo", (file) => {
    // The ext-authz policy names the provider mesh-ext-authz.yaml declares.
    const mesh = file.includes("ext-authz") ? "mesh-ext-authz.yaml" : "mesh-egress.yaml";
    const manifest = parseManifest(readFileSync(join("examples/bookinfo", mesh), "utf8"));
    const defaults = manifest.defaults.map((d) => readFileSync(join("examples/bookinfo", d), "utf8"));
    const byId = new Map<string, Resource>();
    for (const text of [...defaults, readFileSync(file, "utf8")]) {
      const split = splitDocuments(text);
      const { parsed, errors } = validateDocuments(split.docs);
      expect([...split.errors, ...errors].map(describeIssue)).toEqual([]);
      // A task file replaces the default of the same kind and name, as an apply does.
      for (const p of parsed) byId.set(`${p.doc.kind}/${p.doc.metadata.name}`, p.resource);
    }
    expect(analyze(topologyOf(manifest), [...byId.values()]).errors.map(describeIssue)).toEqual([]);
  });
});

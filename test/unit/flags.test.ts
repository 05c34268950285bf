import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FLAG_NAMES, FLAGS } from "../../shared/telemetry/flags.ts";
import { prometheusText } from "../../shared/telemetry/prometheus.ts";

// One typed set of flags (each concern declares its own beside its decision): the metrics help and
// the observability guide's table name exactly these, so the names cannot drift apart again.

describe("request flags", () => {
  it("are all in the observability guide's table", () => {
    const doc = readFileSync("docs/observability.md", "utf8");
    const table = doc.slice(doc.indexOf("## Flags"), doc.indexOf("## Cancelled requests"));
    const documented = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) =>
      [...m[1].matchAll(/`([a-z_]+)`/g)].map((f) => f[1]),
    );
    expect(documented.sort()).toEqual([...FLAG_NAMES].sort());
  });

  it("are all in the metrics help", () => {
    const help = prometheusText([], [], 1)
      .split("\n")
      .find((l) => l.startsWith("# HELP isomesh_request_flags_total"))!;
    for (const f of FLAG_NAMES) expect(help).toContain(f);
  });

  it("say what they mean", () => {
    for (const [name, meaning] of Object.entries(FLAGS)) expect(meaning.length, name).toBeGreaterThan(10);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseDuration } from "../../shared/duration.ts";

describe("manifest", () => {
  it("parses the Bookinfo manifest", () => {
    const m = parseManifest(readFileSync("examples/bookinfo/mesh.yaml", "utf8"));
    expect(m.name).toBe("bookinfo");
    expect(topologyOf(m).services.find((s) => s.name === "reviews")).toEqual({
      name: "reviews",
      versions: ["v1", "v2", "v3"],
      calls: ["ratings"],
    });
    expect(m.services.find((s) => s.name === "reviews")!.versions[2].vars).toEqual({
      VERSION: "v3",
      STAR_COLOR: "red",
    });
  });

  it("accepts echo versions with failure controls", () => {
    const m = parseManifest(
      "name: x\nservices:\n  - name: a\n    versions:\n      - { name: v1, echo: true }\n      - { name: c, echo: { status: 500, failRate: 0.3, delayMs: 50 } }\n",
    );
    expect(m.services[0].versions[1].echo).toEqual({ status: 500, failRate: 0.3, delayMs: 50 });
  });

  const bad: [string, string, RegExp][] = [
    ["missing services", "name: x\n", /mesh\.yaml: services: /],
    [
      "version with neither worker nor echo",
      "name: x\nservices:\n  - name: a\n    versions:\n      - { name: v1 }\n",
      /services\[0\]\.versions\[0\].*exactly one of `worker` or `echo`/,
    ],
    [
      "unknown callee",
      "name: x\nservices:\n  - name: a\n    versions: [{ name: v1, echo: true }]\n    calls: [b]\n",
      /services\[0\]\.calls\[0\]: unknown service "b"/,
    ],
    [
      "duplicate service",
      "name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\n  - { name: a, versions: [{ name: v1, echo: true }] }\n",
      /services\[1\]\.name: duplicate service "a"/,
    ],
    [
      "bad name",
      "name: x\nservices:\n  - { name: A_b, versions: [{ name: v1, echo: true }] }\n",
      /services\[0\]\.name: must be lower-case/,
    ],
    [
      "failRate out of range",
      "name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: { failRate: 2 } }] }\n",
      /services\[0\]\.versions\[0\]\.echo/,
    ],
    ["unknown field", "name: x\nbogus: 1\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\n", /bogus/],
    [
      "reserved name",
      "name: x\nservices:\n  - { name: gateway, versions: [{ name: v1, echo: true }] }\n",
      /"gateway" is reserved/,
    ],
    ["invalid YAML", "name: [x\n", /invalid YAML/],
  ];
  it.each(bad)("rejects %s, naming the file and field", (_label, text, message) => {
    expect(() => parseManifest(text, "mesh.yaml")).toThrow(message);
  });

  it("says what a misspelled field was meant to be, as the resources do, and not also that the meant one is missing", () => {
    const error = (text: string) => {
      try {
        parseManifest(text, "mesh.yaml");
      } catch (e) {
        return (e as Error).message.split("\n");
      }
      throw new Error("accepted");
    };
    expect(error("name: x\nservices:\n  - name: a\n    versoins: [{ name: v1, echo: true }]\n")).toEqual([
      "mesh.yaml: services[0].versoins: unknown field `versoins` (did you mean `versions`?)",
    ]);
    expect(error("name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }], cals: [a] }\n")).toEqual([
      "mesh.yaml: services[0].cals: unknown field `cals` (did you mean `calls`?)",
    ]);
    expect(error("name: x\nservices:\n  - { name: a, versions: [{ name: v1, ehco: true }] }\n")).toContain(
      "mesh.yaml: services[0].versions[0].ehco: unknown field `ehco` (did you mean `echo`?)",
    );
  });
});

describe("durations (Gateway API)", () => {
  it.each([
    ["500ms", 500],
    ["7s", 7000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["0s", 0],
  ])("%s = %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(["", "7", "1.5s", "-1s", "1d", "s", "1s2"])("rejects %j", (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

import { describe, expect, it } from "vitest";
import { dataPlaneOf } from "../../shared/manifest/data-plane.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";

const MESH = (extra = "", service = "") =>
  `name: x\n${extra}services:\n  - { name: a, versions: [{ name: v1, echo: true }], calls: [b]${service} }\n  - { name: b, versions: [{ name: v1, echo: true }] }\n`;

describe("dataPlane in the manifest", () => {
  it("defaults to edge for the mesh and every service", () => {
    const m = parseManifest(MESH());
    expect(m.dataPlane).toBe("edge");
    expect(dataPlaneOf(m, "a")).toBe("edge");
    expect(topologyOf(m).services.map((s) => s.dataPlane)).toEqual([undefined, undefined]);
  });

  const cases: [string, string, string, "edge" | "inline" | undefined, ("edge" | "inline")[]][] = [
    ["mesh inline", "dataPlane: inline\n", "", undefined, ["inline", "inline"]],
    ["a service overrides the mesh", "dataPlane: inline\n", ", dataPlane: edge", undefined, ["edge", "inline"]],
    ["--data-plane overrides the mesh default", "", "", "inline", ["inline", "inline"]],
    ["--data-plane keeps a service's own setting", "", ", dataPlane: edge", "inline", ["edge", "inline"]],
    ["--data-plane edge over an inline mesh", "dataPlane: inline\n", "", "edge", ["edge", "edge"]],
  ];
  it.each(cases)("%s", (_, extra, service, override, expected) => {
    const m = parseManifest(MESH(extra, service));
    expect(["a", "b"].map((s) => dataPlaneOf(m, s, override))).toEqual(expected);
    expect(topologyOf(m, {}, override).services.map((s) => s.dataPlane ?? "edge")).toEqual(expected);
  });

  it("rejects an unknown mode and unknown fields, naming the field", () => {
    expect(() => parseManifest(MESH("dataPlane: sidecar\n"))).toThrow(/mesh\.yaml: dataPlane: /);
    expect(() => parseManifest(MESH("", ", dataPlane: ambient"))).toThrow(/services\[0\]\.dataPlane: /);
    expect(() => parseManifest(MESH("dataPlanes: inline\n"))).toThrow(/dataPlanes/);
  });
});

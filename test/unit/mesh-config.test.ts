import { describe, expect, it } from "vitest";
import { compileMeshConfig, DEFAULT_MESH_CONFIG, MeshConfigSpec } from "../../shared/manifest/mesh-config.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { requestTimeoutOf } from "../../shared/routing/request-timeout.ts";

describe("meshConfig (manifest)", () => {
  it.each([
    [undefined, DEFAULT_MESH_CONFIG],
    [
      { pathNormalization: { normalization: "MERGE_SLASHES" } },
      { path: { mergeSlashes: true, escapedSlashes: "keep" }, requestTimeoutMs: 15_000 },
    ],
    [
      { pathNormalization: { normalization: "MERGE_SLASHES", pathWithEscapedSlashesAction: "REJECT_REQUEST" } },
      { path: { mergeSlashes: true, escapedSlashes: "reject" }, requestTimeoutMs: 15_000 },
    ],
    [
      { pathNormalization: { normalization: "DECODE_AND_MERGE_SLASHES" } },
      { path: { mergeSlashes: true, escapedSlashes: "unescape" }, requestTimeoutMs: 15_000 },
    ],
    [
      { pathNormalization: { pathWithEscapedSlashesAction: "UNESCAPE_AND_FORWARD" } },
      { path: { mergeSlashes: false, escapedSlashes: "unescape" }, requestTimeoutMs: 15_000 },
    ],
    [{ defaultTimeouts: { request: "30s" } }, { ...DEFAULT_MESH_CONFIG, requestTimeoutMs: 30_000 }],
    [{ defaultTimeouts: { request: "0s" } }, { ...DEFAULT_MESH_CONFIG, requestTimeoutMs: 0 }],
  ])("%j compiles to %j", (spec, compiled) => expect(compileMeshConfig(MeshConfigSpec.parse(spec))).toEqual(compiled));

  it.each([
    [{ pathNormalization: { normalization: "NONE" } }, "pathNormalization.normalization"],
    [
      {
        pathNormalization: {
          normalization: "DECODE_AND_MERGE_SLASHES",
          pathWithEscapedSlashesAction: "REJECT_REQUEST",
        },
      },
      "pathNormalization.pathWithEscapedSlashesAction",
    ],
    [{ defaultTimeout: "15s" }, ""],
  ])("refuses %j", (spec, path) => {
    const r = MeshConfigSpec.safeParse(spec);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toContain(path);
  });
});

describe("meshConfig in a manifest", () => {
  it("refuses contradictory options, naming the field", () => {
    expect(() =>
      parseManifest(`name: bad
meshConfig: { pathNormalization: { normalization: DECODE_AND_MERGE_SLASHES, pathWithEscapedSlashesAction: REJECT_REQUEST } }
services: [{ name: web, versions: [{ name: v1, echo: true }] }]
`),
    ).toThrow(/pathWithEscapedSlashesAction/);
  });
});

describe("requestTimeoutOf", () => {
  const mesh = DEFAULT_MESH_CONFIG;
  const route = (request: number | undefined, requestDefault?: boolean) => ({ timeouts: { request, requestDefault } });
  it.each([
    ["a route's own timeout", route(3000), undefined, { ms: 3000, source: "route" }],
    ["the mesh default on a route without one", route(15_000, true), undefined, { ms: 15_000, source: "mesh default" }],
    ["the mesh default without a route", undefined, undefined, { ms: 15_000, source: "mesh default" }],
    ["none for timeouts.request 0s", route(0), undefined, undefined],
    ["the caller's deadline over the mesh default", undefined, 40_000, { ms: 40_000, source: "caller's deadline" }],
    [
      "the caller's deadline when shorter than the route's",
      route(3000),
      1000,
      { ms: 1000, source: "caller's deadline" },
    ],
    ["the route's timeout when shorter than the caller's", route(3000), 9000, { ms: 3000, source: "route" }],
    ["the caller's deadline on a route with none", route(0), 5000, { ms: 5000, source: "caller's deadline" }],
  ])("%s", (_name, r, callerMs, expected) => expect(requestTimeoutOf(r, mesh, callerMs)).toEqual(expected));
});

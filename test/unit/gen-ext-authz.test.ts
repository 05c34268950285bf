import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generate, type GenOptions } from "../../scripts/lib/gen.ts";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

// `isomesh gen` and external authorization providers: every place that runs a service's inbound
// stages gets a binding to each provider's edge, with props { caller } as any mesh call.

afterAll(removeTempDirs);

const MESH = resolve("examples/bookinfo/mesh-ext-authz.yaml");
const gen = (opts: Partial<GenOptions> = {}) =>
  generate(MESH, { outDir: tempDir("isomesh-gen-ext-authz"), beaconKeys: TEST_BEACON_KEYS, validate: false, ...opts });
const services = (mesh: ReturnType<typeof gen>, name: string) =>
  mesh.workers.find((w) => w.name === name)!.config.services as { binding: string; service: string; props?: object }[];

describe("isomesh gen with extensionProviders", () => {
  it("a service edge asks the provider through its own binding, as itself", () => {
    const mesh = gen();
    expect(services(mesh, "reviews-edge")).toContainEqual({
      binding: "EXT_AUTHZ_EXT_AUTHZ",
      service: "bookinfo-ext-authz-edge",
      props: { caller: "reviews" },
    });
    // The gateway reaches every service already; the provider's own edge asks no provider.
    expect(services(mesh, "gateway").map((s) => s.binding)).not.toContain("EXT_AUTHZ_EXT_AUTHZ");
    expect(services(mesh, "ext-authz-edge").map((s) => s.binding)).not.toContain("EXT_AUTHZ_EXT_AUTHZ");
    // An app never sees it.
    expect(services(mesh, "reviews-v1").map((s) => s.binding)).not.toContain("EXT_AUTHZ_EXT_AUTHZ");
  });

  it("inline, an app's inbound half asks through a binding its env never shows (the provider stays on its edge)", () => {
    const mesh = gen({ dataPlane: "inline" });
    expect(services(mesh, "reviews-v2")).toContainEqual({
      binding: "ISOMESH_EXT_AUTHZ_EXT_AUTHZ",
      service: "bookinfo-ext-authz-edge",
      props: { caller: "reviews", version: "v2" },
    });
    expect(mesh.workers.some((w) => w.name === "ext-authz-edge")).toBe(true);
  });

  it("refuses a provider whose service runs inline, naming the field and the fix", () => {
    const dir = tempDir("isomesh-gen-ext-authz");
    const path = join(dir, "mesh.yaml");
    const text = readFileSync(MESH, "utf8").replace("    dataPlane: edge # every edge asks it at its own edge\n", "");
    writeFileSync(
      path,
      text
        .replaceAll("../../workers/", `${resolve("workers")}/`)
        .replace("worker: ext-authz", `worker: ${resolve("examples/bookinfo/ext-authz")}`)
        .replace("defaults: [gateway.yaml]", ""),
    );
    expect(() =>
      generate(path, { outDir: join(dir, "out"), beaconKeys: TEST_BEACON_KEYS, validate: false, dataPlane: "inline" }),
    ).toThrow(
      /meshConfig\.extensionProviders\[0\]\.envoyExtAuthzHttp\.service: ext-authz serves the provider "sample-ext-authz-http".*set dataPlane: edge on ext-authz/,
    );
  });
});

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { generate, type GenOptions } from "../../scripts/lib/gen.ts";
import { bindingProps } from "../../scripts/cli/commands/deploy.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

// Adoption (DESIGN §2): an app's own service bindings to Workers the manifest meshes are mesh calls.
const FRONT = resolve("test/fixtures/adoption/front");
const PAYMENTS = resolve("test/fixtures/adoption/payments");

function meshDir(manifest: string) {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-gen-adoption-"));
  cpSync(FRONT, join(dir, "front"), { recursive: true });
  cpSync(PAYMENTS, join(dir, "payments"), { recursive: true });
  writeFileSync(join(dir, "mesh.yaml"), manifest);
  return dir;
}
const gen = (dir: string, opts: Partial<GenOptions> = {}) =>
  generate(join(dir, "mesh.yaml"), { outDir: join(dir, "gen"), beaconKeys: TEST_BEACON_KEYS, ...opts });
const MESH = `name: m
services:
  - name: front
    versions: [{ name: v1, worker: front }]
  - name: payments
    versions: [{ name: v1, worker: payments }]
`;
const appOf = (mesh: ReturnType<typeof gen>, name: string) =>
  JSON.parse(readFileSync(mesh.workers.find((w) => w.name === name)!.configPath, "utf8"));

describe("an app's own service bindings to meshed Workers", () => {
  const mesh = gen(meshDir(MESH));
  const front = appOf(mesh, "front-v1");

  it("become mesh calls with no `calls:`: the same binding names, to the callee's edge, with the caller's identity", () => {
    expect(front.services).toEqual(
      expect.arrayContaining([
        { binding: "PAYMENTS", service: "m-payments-edge", props: { caller: "front", version: "v1" } },
        {
          binding: "PAYMENTS_ADMIN",
          service: "m-payments-edge",
          props: { caller: "front", version: "v1", entrypoint: "Admin" },
        },
      ]),
    );
    expect(front.services.filter((b: { binding: string }) => b.binding === "PAYMENTS")).toHaveLength(1);
  });

  it("the callee's edge binds the named entrypoint the app's binding reaches", () => {
    const edge = mesh.workers.find((w) => w.name === "payments-edge")!;
    expect(edge.config.services).toContainEqual({
      binding: "VERSION_V1__ADMIN",
      service: "m-payments-v1",
      entrypoint: "Admin",
    });
  });

  it("keeps a binding to a Worker outside the mesh as written, and says so in one line", () => {
    expect(front.services).toContainEqual({ binding: "LEGACY", service: "legacy-billing" });
    const outside = mesh.notes.filter((n) => n.includes("outside the mesh"));
    expect(outside).toEqual([
      "service bindings to Workers outside the mesh, kept as written (not meshed): front/v1 LEGACY → legacy-billing",
    ]);
  });

  it("points the app's binding to its own Worker at the version itself", () => {
    expect(front.services).toContainEqual({
      binding: "SELF",
      service: "m-front-v1",
      props: { caller: "front", version: "v1" },
    });
  });

  it("the topology (graph, explain) knows the call", () => {
    expect(topologyOf(mesh.manifest).services.find((s) => s.name === "front")!.calls).toEqual(["payments"]);
  });

  it("deploy --dry-run prints each binding's props, which wrangler's table does not show", () => {
    expect(bindingProps(front)).toContain('env.PAYMENTS → m-payments-edge props {"caller":"front","version":"v1"}');
  });
});

describe("inline: the app's env and its Worker's own env", () => {
  const mesh = gen(meshDir(MESH), { dataPlane: "inline" });
  const front = appOf(mesh, "front-v1");

  it("the handler's env gets a client; the Worker's own env loops each inline call back to it (import { env }, objects)", () => {
    const entry = readFileSync(
      resolve(mesh.workers.find((w) => w.name === "front-v1")!.configPath, "..", front.main),
      "utf8",
    );
    expect(entry).toMatch(/"calls":\{"PAYMENTS":\{"service":"payments"/);
    expect(entry).toContain("export const IsomeshOutbound = inlineOutbound(config);");
    for (const binding of ["PAYMENTS", "PAYMENTS_ADMIN"])
      expect(front.services).toContainEqual({
        binding,
        service: "m-front-v1",
        entrypoint: "IsomeshOutbound",
        props: { binding },
      });
    expect(front.services).toContainEqual(
      expect.objectContaining({ binding: "ISOMESH_V_PAYMENTS__V1__ADMIN", entrypoint: "Admin" }),
    );
  });
});

describe("`calls:` beside the app's own binding", () => {
  it("may name the binding the app already has for the same service: one binding, the manifest's", () => {
    const mesh = gen(
      meshDir(
        MESH.replace("worker: front }]", "worker: front }]\n    calls: [{ service: payments, binding: PAYMENTS }]"),
      ),
    );
    const services = appOf(mesh, "front-v1").services.filter((b: { binding: string }) => b.binding === "PAYMENTS");
    expect(services).toEqual([
      { binding: "PAYMENTS", service: "m-payments-edge", props: { caller: "front", version: "v1" } },
    ]);
  });

  it("naming the app's binding for another service is an error naming both", () => {
    const dir = meshDir(
      MESH.replace("worker: front }]", "worker: front }]\n    calls: [{ service: other, binding: PAYMENTS }]") +
        "  - name: other\n    versions: [{ name: v1, echo: true }]\n",
    );
    expect(() => gen(dir)).toThrow(
      /services\[0\]\.versions\[0\]: front\/v1's binding PAYMENTS names the Worker "payments-api", but calls\[0\] gives that binding to other/,
    );
  });

  it("a Worker name that two services' projects share is ambiguous: the error says how to choose", () => {
    const dir = meshDir(MESH + "  - name: billing\n    versions: [{ name: v1, worker: payments }]\n");
    expect(() => gen(dir)).toThrow(
      /front\/v1's binding PAYMENTS names the Worker "payments-api", which is the project of payments and billing: give it `calls: \[\{ service: <one of them>, binding: PAYMENTS \}\]`/,
    );
  });
});

describe("an app's binding to a Worker the mesh generates", () => {
  it.each([
    ["m-payments-v1", "payments/v1's generated Worker"], // past the payments edge
    ["m-payments-edge", "payments's edge"], // with props the app would choose (a forged caller)
    ["m-control", "the mesh's control"],
  ])("%s is an error: it would reach it past the mesh", (worker, what) => {
    const dir = meshDir(MESH);
    const config = join(dir, "front/wrangler.jsonc");
    writeFileSync(
      config,
      readFileSync(config, "utf8").replace('"service": "legacy-billing"', `"service": "${worker}"`),
    );
    expect(() => gen(dir)).toThrow(
      `front/v1's binding LEGACY names "${worker}", ${what}: the mesh's own Workers are reached only through the mesh`,
    );
  });
});

describe("a binding by service name or deployed name", () => {
  it("reaches that service", () => {
    const dir = meshDir(MESH.replace("worker: payments }]", "deployed: payments-prod, worker: payments }]"));
    const config = join(dir, "front/wrangler.jsonc");
    writeFileSync(
      config,
      readFileSync(config, "utf8").replace(
        '{ "binding": "LEGACY", "service": "legacy-billing" }',
        '{ "binding": "LEGACY", "service": "payments-prod" }, { "binding": "BY_NAME", "service": "payments" }',
      ),
    );
    const front = appOf(gen(dir), "front-v1");
    for (const binding of ["LEGACY", "BY_NAME"])
      expect(front.services).toContainEqual({
        binding,
        service: "m-payments-edge",
        props: { caller: "front", version: "v1" },
      });
  });
});

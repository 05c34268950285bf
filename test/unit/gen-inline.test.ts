import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { INLINE_MODULE } from "../../scripts/lib/bundle.ts";
import { generate, type GenOptions } from "../../scripts/lib/gen.ts";
import { explainTree } from "../../shared/explain/tree.ts";
import type { HopRecord } from "../../shared/explain/hop.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

afterAll(removeTempDirs);

const BOOKINFO = resolve("examples/bookinfo/mesh.yaml");
const out = () => tempDir("isomesh-gen-inline");
const gen = (opts: Partial<GenOptions> = {}, manifest = BOOKINFO) =>
  generate(manifest, { outDir: out(), beaconKeys: TEST_BEACON_KEYS, ...opts });
const worker = (mesh: ReturnType<typeof gen>, name: string) => mesh.workers.find((w) => w.name === name)!;

describe("isomesh gen --data-plane inline", () => {
  const mesh = gen({ dataPlane: "inline" });

  it("generates no edge Worker for an inline service, and builds the inline bundle once", () => {
    expect(mesh.workers.filter((w) => w.role === "edge")).toEqual([]);
    expect(mesh.inlineBundle).toMatch(/_inline\/index\.js$/);
    expect(readFileSync(mesh.inlineBundle!, "utf8")).not.toContain("bookinfo"); // the same code for every app
  });

  it("wraps each version's entry in a module that re-exports the app and wraps its default export", () => {
    const reviews = worker(mesh, "reviews-v1");
    const entry = resolve(dirname(reviews.configPath), reviews.config.main);
    expect(reviews.build).toEqual({ kind: "esbuild", entry });
    const text = readFileSync(entry, "utf8");
    expect(text).toContain('export * from "');
    expect(text).toMatch(/export default inlineApp\(app\.default, config\);/);
    expect(text).toContain("export const IsomeshInlineControl = inlineControl(config);");
    // v1 and v2 run one project: one entry module, so one build.
    expect(worker(mesh, "reviews-v2").config.main).toBe(reviews.config.main);
  });

  it("gives a caller a binding per version of each inline callee, with its identity as props, and the mesh's own bindings", () => {
    const reviews = worker(mesh, "reviews-v2").config;
    expect(reviews.services).toEqual([
      // The control plane holds what this Worker reports and reads to the identity in the props.
      {
        binding: "ISOMESH_CONTROL",
        service: "bookinfo-control",
        entrypoint: "MeshControl",
        props: { service: "reviews", version: "v2" },
      },
      // The Worker's own env (import { env }, Durable Objects) loops RATINGS back to its client.
      {
        binding: "RATINGS",
        service: "bookinfo-reviews-v2",
        entrypoint: "IsomeshOutbound",
        props: { binding: "RATINGS" },
      },
      {
        binding: "ISOMESH_V_RATINGS__V1",
        service: "bookinfo-ratings-v1",
        props: { caller: "reviews", version: "v2" },
      },
    ]);
    expect(reviews.kv_namespaces).toEqual([{ binding: "ISOMESH_SNAPSHOTS", id: "isomesh-snapshots" }]);
    expect(reviews.durable_objects?.bindings).toEqual([
      { name: "ISOMESH_RATE_LIMITER", class_name: "RateLimiter", script_name: "bookinfo-control" },
    ]);
  });

  it("Workers RPC to a named entrypoint of an inline callee: a binding to that entrypoint of each version, and the callee re-exports it meshed", () => {
    const shop = gen({ dataPlane: "inline" }, resolve("examples/shop/mesh.yaml"));
    expect(worker(shop, "orders-v1").config.services).toContainEqual({
      binding: "ISOMESH_V_CART__V1__CHECKOUT",
      service: "shop-cart-v1",
      entrypoint: "Checkout",
      props: { caller: "orders", version: "v1" },
    });
    const cart = worker(shop, "cart-v1");
    const text = readFileSync(resolve(dirname(cart.configPath), cart.config.main), "utf8");
    // A local export wins over `export *`: callers reach the meshed class, not the app's own.
    expect(text).toContain('const entrypoint0 = inlineEntrypoint(app["Checkout"], config, "Checkout");');
    expect(text).toContain("export { entrypoint0 as Checkout };");
    expect(text).toContain('"entrypoints":["Checkout"]');
  });

  it("lets the gateway call inline versions directly and run their outbound half", () => {
    const gateway = worker(mesh, "gateway");
    expect(gateway.config.services).toContainEqual({
      binding: "ISOMESH_V_REVIEWS__V3",
      service: "bookinfo-reviews-v3",
      props: { caller: "gateway" },
    });
    expect(gateway.config.services?.some((s) => s.binding === "REVIEWS")).toBe(false);
    const callees = JSON.parse(readFileSync(join(dirname(gateway.configPath), INLINE_MODULE), "utf8"));
    expect(callees.map((c: { edge: string }) => c.edge).sort()).toEqual([
      "details-edge",
      "productpage-edge",
      "ratings-edge",
      "reviews-edge",
    ]);
  });

  it("nudges every Worker that holds an inline service's snapshot", () => {
    const control = worker(mesh, "control").config;
    const holders = JSON.parse(String(control.vars?.INLINE_HOLDERS));
    expect(holders["ratings-edge"].sort()).toEqual(
      ["EDGE_GATEWAY", "INLINE_RATINGS_V1", "INLINE_REVIEWS_V1", "INLINE_REVIEWS_V2", "INLINE_REVIEWS_V3"].sort(),
    );
    expect(control.services).toContainEqual({
      binding: "INLINE_RATINGS_V1",
      service: "bookinfo-ratings-v1",
      entrypoint: "IsomeshInlineControl",
      props: { caller: "control" },
    });
    expect(control.services?.some((s) => s.binding === "EDGE_RATINGS_EDGE")).toBe(false);
  });
});

describe("modes mixed per service", () => {
  const dir = out();
  const manifest = join(dir, "mesh.yaml");
  const text = readFileSync(BOOKINFO, "utf8")
    .replace(/\nname: bookinfo\n/, "\nname: bookinfo\ndataPlane: inline\n")
    .replace(/(  - name: reviews\n)/, "$1    dataPlane: edge\n")
    .replace("defaults: [gateway.yaml]", `defaults: [${resolve(dirname(BOOKINFO), "gateway.yaml")}]`);
  writeFileSync(
    manifest,
    text.replace(/worker: (\S+)/g, (_, p) => `worker: ${resolve(dirname(BOOKINFO), p)}`),
  );

  it("keeps an edge for the edge service; its apps get clients for their inline callees", () => {
    expect(text).toContain("dataPlane: edge");
    const mesh = generate(manifest, { outDir: join(dir, "gen"), beaconKeys: TEST_BEACON_KEYS });
    expect(mesh.workers.filter((w) => w.role === "edge").map((w) => w.name)).toEqual(["reviews-edge"]);
    // productpage (inline) calls reviews (edge) through reviews' edge, details (inline) in its own isolate.
    const productpage = worker(mesh, "productpage-v1").config.services ?? [];
    expect(productpage.find((s) => s.binding === "REVIEWS")).toMatchObject({ service: "bookinfo-reviews-edge" });
    expect(productpage.find((s) => s.binding === "ISOMESH_V_DETAILS__V1")).toMatchObject({
      props: { caller: "productpage" },
    });
    // reviews (edge) runs no inbound half, but calls ratings (inline): its entry is wrapped for the client.
    const reviews = worker(mesh, "reviews-v1");
    expect(reviews.inlineInbound).toBeUndefined();
    expect(readFileSync(resolve(dirname(reviews.configPath), reviews.config.main), "utf8")).not.toContain('"inbound"');
  });

  it("refuses a version your own pipeline deploys in an inline service", () => {
    writeFileSync(
      manifest,
      "name: m\ndataPlane: inline\nservices:\n  - name: a\n    versions: [{ name: v1, deployed: a-prod, worker: x.ts }]\n",
    );
    expect(() => generate(manifest, { outDir: join(dir, "gen2"), beaconKeys: TEST_BEACON_KEYS })).toThrow(
      /versions\[0\]\.deployed: a runs the inline data plane.*set dataPlane: edge on a/,
    );
  });
});

describe("explain joins an inline hop's two halves", () => {
  const hop = (o: Partial<HopRecord>): HopRecord => ({
    id: "t",
    traceId: "t",
    spanId: "s1",
    edge: "reviews-edge",
    caller: "productpage",
    method: "GET",
    url: "http://reviews/",
    at: 1,
    decisions: [],
    ...o,
  });
  it("one node: the outbound's decisions, then the callee's, marked", () => {
    const tree = explainTree([
      hop({ half: "inbound", at: 2, decisions: [{ stage: "authz", decision: "allowed" }] }),
      hop({ parentSpanId: "s0", decisions: [{ stage: "split", decision: "picked reviews/v1" }] }),
      hop({ spanId: "s0", edge: "gateway" }),
    ]);
    expect(tree).toHaveLength(1);
    expect(tree[0].children).toHaveLength(1);
    expect(tree[0].children[0].decisions).toEqual([
      { stage: "split", decision: "picked reviews/v1" },
      { stage: "authz", decision: "allowed", isolate: "callee" },
    ]);
  });
});

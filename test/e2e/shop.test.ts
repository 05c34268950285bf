import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, type DevProcess } from "../helpers/dev-process.ts";
import { eventually } from "../helpers/eventually.ts";
import { http } from "../helpers/http.ts";

// examples/shop as a user runs it: `isomesh dev` on Workers projects with D1, a Durable Object,
// a Queue between two services, R2 and KV, all through the gateway.
const dir = mkdtempSync(join(tmpdir(), "isomesh-shop-"));
const args = { manifest: "examples/shop/mesh.yaml", state: join(dir, "state") };
let dev: DevProcess;
const json = { "content-type": "application/json" };
const gw = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
  http(dev.gatewayUrl + path, init);
const apply = async (file: string) => {
  const res = await http(`${dev.adminUrl}/v1/apply?wait=true`, {
    method: "POST",
    body: readFileSync(file, "utf8"),
    headers: { authorization: `Bearer ${dev.token}` },
  });
  expect(res.status).toBe(200);
};

beforeAll(async () => {
  dev = await startDev(args);
});
afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the shop example", () => {
  it("applies the catalog's D1 migrations once for the database both versions share, and says so", async () => {
    expect(dev.output()).toContain(
      "applied D1 migrations to shop-catalog (catalog/v1, catalog/v2): 0001_products.sql, 0002_seed.sql",
    );
    const res = await gw("/catalog/products");
    expect(res.status).toBe(200);
    expect(res.headers["x-isomesh-backend"]).toBe("catalog/v1");
    expect(res.json().products.map((p: { name: string }) => p.name)).toEqual([
      "Espresso cup",
      "Pour-over kettle",
      "Burr grinder",
    ]);
  });

  it("two versions of one service share one D1 database: a row written through v1 is read through v2", async () => {
    const created = await gw("/catalog/products", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: "Milk jug", priceCents: 1800 }),
    });
    expect(created.status).toBe(201);
    const { id } = created.json().product;
    const read = await gw(`/catalog/products/${id}`, { headers: { "x-catalog-version": "v2" } });
    expect(read.headers["x-isomesh-backend"]).toBe("catalog/v2");
    expect(read.json()).toEqual({
      version: "v2",
      product: { id, name: "Milk jug", priceCents: 1800, price: "$18.00" },
    });
  });

  it("the cart's own Durable Object answers, priced by an east-west call to the catalog", async () => {
    const added = await gw("/cart/items", {
      method: "POST",
      headers: { ...json, "x-user": "ann" },
      body: JSON.stringify({ productId: 2, qty: 2 }),
    });
    expect(added.status).toBe(201);
    expect(added.json()).toEqual({
      items: [{ productId: 2, name: "Pour-over kettle", priceCents: 4500, qty: 2 }],
      totalCents: 9000,
    });
    expect((await gw("/cart", { headers: { "x-user": "bob" } })).json()).toEqual({ items: [], totalCents: 0 });
  });

  it("an order goes on the Queue; the other service consumes it into R2 and KV", async () => {
    await gw("/cart/items", {
      method: "POST",
      headers: { ...json, "x-user": "cy" },
      body: JSON.stringify({ productId: 1 }),
    });
    const order = await gw("/orders", { method: "POST", headers: { "x-user": "cy" } });
    expect(order.status).toBe(202);
    const { orderId } = order.json();
    const receipt = await eventually(
      () => gw(`/receipts/${orderId}`),
      (r) => r.status === 200,
      15_000,
    );
    expect(receipt.json()).toMatchObject({ orderId, user: "cy", totalCents: 1200, items: [{ productId: 1, qty: 1 }] });
    expect((await gw("/receipts", { headers: { "x-user": "cy" } })).json()).toEqual({ orderIds: [orderId] });
    expect((await gw("/cart", { headers: { "x-user": "cy" } })).json().items).toEqual([]);
  });

  it("a mesh AuthorizationPolicy denies a request the app would have served", async () => {
    await apply("examples/shop/security/catalog-read-only.yaml");
    const denied = await gw("/catalog/products", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: "Tamper", priceCents: 900 }),
    });
    expect(denied.status).toBe(403);
    expect(denied.json().error).toMatchObject({ code: "rbac_denied", policy: "catalog-read-only" });
    expect((await gw("/catalog/products")).status).toBe(200);
  });

  it("keeps D1 rows, Durable Object state and policy across a restart, without applying migrations again", async () => {
    expect(await dev.stop("SIGTERM")).toBe(0);
    dev = await startDev(args);
    expect(dev.output()).not.toContain("applied D1 migrations");
    expect((await gw("/catalog/products")).json().products.map((p: { name: string }) => p.name)).toContain("Milk jug");
    expect((await gw("/cart", { headers: { "x-user": "ann" } })).json().totalCents).toBe(9000);
    expect((await gw("/catalog/products", { method: "POST", headers: json, body: "{}" })).status).toBe(403);
  });
});

describe("a failing D1 migration", () => {
  it("stops the start with the file and D1's error; nothing is served", async () => {
    const app = join(dir, "broken");
    mkdirSync(join(app, "migrations"), { recursive: true });
    writeFileSync(
      join(app, "wrangler.json"),
      JSON.stringify({
        name: "broken",
        main: "index.js",
        compatibility_date: "2025-04-01",
        d1_databases: [{ binding: "DB", database_name: "broken-db", database_id: "b0" }],
      }),
    );
    writeFileSync(join(app, "index.js"), "export default { fetch: () => new Response('ok') };\n");
    writeFileSync(join(app, "migrations/0001_ok.sql"), "CREATE TABLE t (a INTEGER);\n");
    writeFileSync(
      join(app, "migrations/0002_typo.sql"),
      "CREATE TABLE u (a INTEGER);\nINSERT INTO missing_table VALUES (1);\n",
    );
    writeFileSync(
      join(dir, "broken.yaml"),
      "name: broken\nservices:\n  - name: api\n    versions: [{ name: v1, worker: broken }]\n",
    );
    const start = startDev({ manifest: join(dir, "broken.yaml"), state: join(dir, "broken-state") });
    await expect(start).rejects.toThrow(
      /isomesh dev exited with 1:[\s\S]*D1 migration .*migrations\/0002_typo\.sql failed on broken-db \(api\/v1 DB\): .*no such table: missing_table/,
    );
    await expect(start).rejects.not.toThrow(/ready/);
  });
});

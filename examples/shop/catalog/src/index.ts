import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";

// The shop's product catalog: a Hono API on D1 (schema and seed data in migrations/), and the same
// reads as Workers RPC methods for the services that call it (the cart: `env.CATALOG.getProduct(2)`).
type Env = { DB: D1Database; VERSION?: string; PRICE_FORMAT: string };
type Product = { id: number; name: string; price_cents: number };
export type CatalogProduct = ReturnType<typeof present>;

const app = new Hono<{ Bindings: Env }>().basePath("/catalog");

const present = (p: Product, env: Env) => ({
  id: p.id,
  name: p.name,
  priceCents: p.price_cents,
  ...(env.PRICE_FORMAT === "currency" ? { price: `$${(p.price_cents / 100).toFixed(2)}` } : {}),
});

app.get("/products", async (c) => {
  const { results } = await c.env.DB.prepare("SELECT id, name, price_cents FROM products ORDER BY id").all<Product>();
  return c.json({ version: c.env.VERSION, products: results.map((p) => present(p, c.env)) });
});

const productById = (env: Env, id: number) =>
  env.DB.prepare("SELECT id, name, price_cents FROM products WHERE id = ?").bind(id).first<Product>();

app.get("/products/:id", async (c) => {
  const p = await productById(c.env, Number(c.req.param("id")));
  return p ? c.json({ version: c.env.VERSION, product: present(p, c.env) }) : c.json({ error: "no such product" }, 404);
});

app.post("/products", async (c) => {
  const body = await c.req
    .json<{ name?: unknown; priceCents?: unknown }>()
    .catch(() => ({}) as { name?: unknown; priceCents?: unknown });
  const { name, priceCents } = body;
  if (typeof name !== "string" || name.length < 1 || name.length > 100)
    return c.json({ error: "name: a string of 1 to 100 characters" }, 400);
  if (typeof priceCents !== "number" || !Number.isInteger(priceCents) || priceCents < 0)
    return c.json({ error: "priceCents: a non-negative integer" }, 400);
  const p = await c.env.DB.prepare(
    "INSERT INTO products (name, price_cents) VALUES (?, ?) RETURNING id, name, price_cents",
  )
    .bind(name, priceCents)
    .first<Product>();
  return c.json({ version: c.env.VERSION, product: present(p!, c.env) }, 201);
});

/** HTTP through the Hono app; RPC methods beside it (a WorkerEntrypoint is both). */
export default class Catalog extends WorkerEntrypoint<Env> {
  override fetch(request: Request) {
    return app.fetch(request, this.env, this.ctx);
  }

  /** One product, or null when there is none with this id. */
  async getProduct(id: number): Promise<CatalogProduct | null> {
    if (!Number.isInteger(id)) throw new RangeError(`getProduct: id must be an integer (got ${String(id)})`);
    const p = await productById(this.env, id);
    return p ? present(p, this.env) : null;
  }

  /** Which version answered (each version of a service is its own Worker). */
  get version(): string | undefined {
    return this.env.VERSION;
  }
}

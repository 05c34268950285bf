import { Hono } from "hono";

// The shop's product catalog: a Hono API on D1 (schema and seed data in migrations/).
type Env = { DB: D1Database; VERSION?: string; PRICE_FORMAT: string };
type Product = { id: number; name: string; price_cents: number };

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

app.get("/products/:id", async (c) => {
  const p = await c.env.DB.prepare("SELECT id, name, price_cents FROM products WHERE id = ?")
    .bind(Number(c.req.param("id")))
    .first<Product>();
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

export default app;

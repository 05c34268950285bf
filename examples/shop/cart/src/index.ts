import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";

// The shop's carts: a Durable Object per user (SQLite storage), priced by a Workers RPC call to
// the catalog service, which the mesh binds as env.CATALOG (the manifest's `calls: [catalog]`).
// Checkout (the orders service) reaches the carts through the named entrypoint below.
type CatalogApi = { getProduct(id: number): Promise<{ id: number; name: string; priceCents: number } | null> };
type Env = { CARTS: DurableObjectNamespace<Cart>; CATALOG: Fetcher & CatalogApi };
type Item = { productId: number; name: string; priceCents: number; qty: number };

export class Cart extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS items (product_id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, qty INTEGER NOT NULL)",
    );
  }

  add(item: Item): Item[] {
    this.ctx.storage.sql.exec(
      "INSERT INTO items (product_id, name, price_cents, qty) VALUES (?, ?, ?, ?) ON CONFLICT (product_id) DO UPDATE SET qty = qty + excluded.qty, price_cents = excluded.price_cents",
      item.productId,
      item.name,
      item.priceCents,
      item.qty,
    );
    return this.items();
  }

  items(): Item[] {
    return this.ctx.storage.sql
      .exec<{ product_id: number; name: string; price_cents: number; qty: number }>(
        "SELECT * FROM items ORDER BY product_id",
      )
      .toArray()
      .map((r) => ({ productId: r.product_id, name: r.name, priceCents: r.price_cents, qty: r.qty }));
  }

  clear(): void {
    this.ctx.storage.sql.exec("DELETE FROM items");
  }
}

const app = new Hono<{ Bindings: Env; Variables: { cart: DurableObjectStub<Cart> } }>().basePath("/cart");

app.use(async (c, next) => {
  const user = c.req.header("x-user");
  if (!user) return c.json({ error: "x-user: required (whose cart)" }, 400);
  c.set("cart", c.env.CARTS.get(c.env.CARTS.idFromName(user)));
  await next();
});

const summary = (items: Item[]) => ({ items, totalCents: items.reduce((sum, i) => sum + i.priceCents * i.qty, 0) });

app.get("/", async (c) => c.json(summary(await c.var.cart.items())));

app.post("/items", async (c) => {
  const body = await c.req
    .json<{ productId?: unknown; qty?: unknown }>()
    .catch(() => ({}) as { productId?: unknown; qty?: unknown });
  const qty = body.qty ?? 1;
  if (typeof body.productId !== "number" || !Number.isInteger(body.productId))
    return c.json({ error: "productId: an integer" }, 400);
  if (typeof qty !== "number" || !Number.isInteger(qty) || qty < 1 || qty > 100)
    return c.json({ error: "qty: an integer from 1 to 100" }, 400);
  let product: Awaited<ReturnType<CatalogApi["getProduct"]>>;
  try {
    product = await c.env.CATALOG.getProduct(body.productId);
  } catch (e) {
    // The mesh's refusals read "isomesh <code>: …"; anything else is what the catalog threw.
    return c.json({ error: `catalog: ${(e as Error).message}` }, 502);
  }
  if (!product) return c.json({ error: `no product ${body.productId}` }, 422);
  return c.json(
    summary(await c.var.cart.add({ productId: product.id, name: product.name, priceCents: product.priceCents, qty })),
    201,
  );
});

app.delete("/", async (c) => {
  await c.var.cart.clear();
  return c.body(null, 204);
});

export default app;

/** Checkout's way in (orders binds it with `entrypoint: Checkout`): the user's cart, and emptying it. */
export class Checkout extends WorkerEntrypoint<Env> {
  async items(user: string): Promise<{ items: Item[]; totalCents: number }> {
    return summary(await cartOf(this.env, user).items());
  }

  async clear(user: string): Promise<void> {
    await cartOf(this.env, user).clear();
  }
}

// Not a method: every method of an entrypoint (TypeScript's `private` ones too) can be called over RPC.
function cartOf(env: Env, user: string) {
  if (typeof user !== "string" || user.length === 0) throw new TypeError("user: a non-empty string");
  return env.CARTS.get(env.CARTS.idFromName(user));
}

import { Hono } from "hono";

// Checkout: the order goes on a Queue; the fulfillment service consumes it.
type Env = { CART: Fetcher; ORDER_EVENTS: Queue<Order> };
export type Order = {
  orderId: string;
  user: string;
  items: { productId: number; name: string; priceCents: number; qty: number }[];
  totalCents: number;
  at: string;
};

const forwarded = (from: Headers, user: string) => {
  const out = new Headers({ "x-user": user });
  for (const h of ["x-request-id", "traceparent", "tracestate", "x-isomesh-deadline-ms"])
    if (from.has(h)) out.set(h, from.get(h)!);
  return out;
};

const app = new Hono<{ Bindings: Env }>().basePath("/orders");

app.post("/", async (c) => {
  const user = c.req.header("x-user");
  if (!user) return c.json({ error: "x-user: required (whose cart to check out)" }, 400);
  const headers = forwarded(c.req.raw.headers, user);
  const cart = await c.env.CART.fetch("http://cart/cart", { headers });
  if (!cart.ok) return c.json({ error: `cart answered ${cart.status}` }, 502);
  const { items, totalCents } = await cart.json<Pick<Order, "items" | "totalCents">>();
  if (!items.length) return c.json({ error: "the cart is empty" }, 409);
  const order: Order = { orderId: crypto.randomUUID(), user, items, totalCents, at: new Date().toISOString() };
  await c.env.ORDER_EVENTS.send(order);
  await c.env.CART.fetch("http://cart/cart", { method: "DELETE", headers });
  return c.json({ orderId: order.orderId, totalCents, status: "accepted" }, 202);
});

export default app;

import { Hono } from "hono";

// Checkout: reads the user's cart through the cart Worker's Checkout entrypoint (Workers RPC, its own
// service binding CART_CHECKOUT, which the mesh adopts as a call to the cart service), queues the order.
type CheckoutApi = {
  items(user: string): Promise<Pick<Order, "items" | "totalCents">>;
  clear(user: string): Promise<void>;
};
type Env = { CART_CHECKOUT: CheckoutApi; ORDER_EVENTS: Queue<Order> };
export type Order = {
  orderId: string;
  user: string;
  items: { productId: number; name: string; priceCents: number; qty: number }[];
  totalCents: number;
  at: string;
};

const app = new Hono<{ Bindings: Env }>().basePath("/orders");

app.post("/", async (c) => {
  const user = c.req.header("x-user");
  if (!user) return c.json({ error: "x-user: required (whose cart to check out)" }, 400);
  let cart: Pick<Order, "items" | "totalCents">;
  try {
    cart = await c.env.CART_CHECKOUT.items(user);
  } catch (e) {
    return c.json({ error: `cart: ${(e as Error).message}` }, 502);
  }
  const { items, totalCents } = cart;
  if (!items.length) return c.json({ error: "the cart is empty" }, 409);
  const order: Order = { orderId: crypto.randomUUID(), user, items, totalCents, at: new Date().toISOString() };
  await c.env.ORDER_EVENTS.send(order);
  await c.env.CART_CHECKOUT.clear(user);
  return c.json({ orderId: order.orderId, totalCents, status: "accepted" }, 202);
});

export default app;

import { Hono } from "hono";

// Fulfillment: consumes the orders queue, writes a receipt per order to R2 and indexes it in KV.
type Order = { orderId: string; user: string; items: unknown[]; totalCents: number; at: string };
type Env = { RECEIPTS: R2Bucket; ORDERS_BY_USER: KVNamespace };

const app = new Hono<{ Bindings: Env }>().basePath("/receipts");

app.get("/", async (c) => {
  const user = c.req.header("x-user");
  if (!user) return c.json({ error: "x-user: required (whose receipts)" }, 400);
  const { keys } = await c.env.ORDERS_BY_USER.list({ prefix: `${user}/` });
  return c.json({ orderIds: keys.map((k) => k.name.slice(user.length + 1)) });
});

app.get("/:orderId", async (c) => {
  const receipt = await c.env.RECEIPTS.get(`receipts/${c.req.param("orderId")}.json`);
  return receipt ? c.json(await receipt.json()) : c.json({ error: "no such receipt (yet)" }, 404);
});

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<Order>, env: Env) {
    for (const msg of batch.messages) {
      const order = msg.body;
      await env.RECEIPTS.put(
        `receipts/${order.orderId}.json`,
        JSON.stringify({ ...order, fulfilledAt: new Date().toISOString() }),
        { httpMetadata: { contentType: "application/json" } },
      );
      await env.ORDERS_BY_USER.put(`${order.user}/${order.orderId}`, order.at);
      msg.ack();
    }
  },
} satisfies ExportedHandler<Env, Order>;

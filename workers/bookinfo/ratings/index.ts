import { Hono } from "hono";

// Istio Bookinfo's ratings service: each reviewer's stars for a product, kept in memory.
const app = new Hono();
const ratings = new Map<number, Record<string, number>>();
const DEFAULT = { Reviewer1: 5, Reviewer2: 4 };

app.get("/health", (c) => c.json({ status: "Ratings is healthy" }));

app.get("/ratings/:id", (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id)) return c.json({ error: "please provide numeric product ID" }, 400);
  return c.json({ id, ratings: ratings.get(id) ?? DEFAULT });
});

app.post("/ratings/:id", async (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id)) return c.json({ error: "please provide numeric product ID" }, 400);
  const body = await c.req.json<Record<string, unknown>>().catch(() => null);
  if (!body || typeof body !== "object") return c.json({ error: "please provide valid ratings JSON" }, 400);
  const next: Record<string, number> = {};
  for (const [reviewer, stars] of Object.entries(body)) {
    if (typeof stars !== "number" || !Number.isInteger(stars) || stars < 1 || stars > 5)
      return c.json({ error: `rating of ${reviewer} must be an integer from 1 to 5` }, 400);
    next[reviewer] = stars;
  }
  ratings.set(id, next);
  return c.json({ id, ratings: next });
});

export default app;

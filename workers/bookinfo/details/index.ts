import { Hono } from "hono";
import { type ExternalBookEnv, externalBookEnabled, fetchExternalBook } from "./external-book.ts";

// Istio Bookinfo's details service: book information by id. With EXTERNAL_BOOK_SERVICE=true (Istio's
// details v2) it asks an external book service, through the egress edge.
const app = new Hono<{ Bindings: ExternalBookEnv }>();

app.get("/health", (c) => c.json({ status: "Details is healthy" }));

app.get("/details/:id", async (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id)) return c.json({ error: "please provide numeric product id" }, 400);
  if (externalBookEnabled(c.env)) {
    try {
      return c.json(await fetchExternalBook(c.env, id, c.req.raw.headers));
    } catch (e) {
      return c.json({ error: `could not fetch details: ${(e as Error).message}` }, 503);
    }
  }
  return c.json({
    id,
    author: "William Shakespeare",
    year: 1595,
    type: "paperback",
    pages: 200,
    publisher: "PublisherA",
    language: "English",
    "ISBN-10": "1234567890",
    "ISBN-13": "123-1234567890",
  });
});

export default app;

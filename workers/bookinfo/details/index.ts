import { Hono } from "hono";

// Istio Bookinfo's details service: book information by id.
const app = new Hono();

app.get("/health", (c) => c.json({ status: "Details is healthy" }));

app.get("/details/:id", (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id)) return c.json({ error: "please provide numeric product id" }, 400);
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

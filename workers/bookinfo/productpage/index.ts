import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { callService, forwardedHeaders } from "../forward-headers.ts";
import { type Details, indexPage, PRODUCTS, productPage, type Review } from "./page.ts";

// Istio Bookinfo's productpage: renders the book page from details and reviews, called east-west.
type Env = { DETAILS?: Fetcher; REVIEWS?: Fetcher };

const DETAILS_ERROR = "Sorry, product details are currently unavailable for this book.";
const REVIEWS_ERROR = "Sorry, product reviews are currently unavailable for this book.";
const CSS = "/* bootstrap-lite: the page's own styles are inline */\nbody{background:#fff}\n";

const app = new Hono<{ Bindings: Env }>();

/** Headers for calls on behalf of this request: the trace, and the signed-in user as `end-user`. */
function outbound(req: Request, user: string | undefined): Headers {
  const h = forwardedHeaders(req.headers);
  if (user) h.set("end-user", user);
  return h;
}

async function details(env: Env, id: number, h: Headers) {
  const res = await callService(env.DETAILS, `http://details/details/${id}`, h);
  return res?.status === 200 ? (res.body as Details) : undefined;
}

async function reviews(env: Env, id: number, h: Headers) {
  const res = await callService(env.REVIEWS, `http://reviews/reviews/${id}`, h);
  return res?.status === 200 ? ((res.body as { reviews?: Review[] }).reviews ?? []) : undefined;
}

const productId = (s: string) => {
  const id = Number(s);
  return Number.isInteger(id) && PRODUCTS.some((p) => p.id === id) ? id : undefined;
};

app.get("/", (c) => c.html(indexPage()));
app.get("/index.html", (c) => c.html(indexPage()));
app.get("/health", (c) => c.json({ status: "Product page is healthy" }));
app.get("/static/*", (c) =>
  c.req.path.endsWith(".css") ? c.body(CSS, 200, { "content-type": "text/css" }) : c.notFound(),
);

app.get("/productpage", async (c) => {
  const user = getCookie(c, "session");
  const h = outbound(c.req.raw, user);
  const [d, r] = await Promise.all([details(c.env, 0, h), reviews(c.env, 0, h)]);
  return c.html(
    productPage({
      product: PRODUCTS[0],
      details: d,
      reviews: r,
      detailsError: DETAILS_ERROR,
      reviewsError: REVIEWS_ERROR,
      user,
    }),
  );
});

app.post("/login", async (c) => {
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const user = typeof form.username === "string" ? form.username.trim().slice(0, 64) : "";
  if (user) setCookie(c, "session", user, { path: "/", httpOnly: true, sameSite: "Lax" });
  return c.redirect("/productpage", 302);
});

app.get("/logout", (c) => {
  deleteCookie(c, "session", { path: "/" });
  return c.redirect("/productpage", 302);
});

app.get("/api/v1/products", (c) =>
  c.json(PRODUCTS.map((p) => ({ id: p.id, title: p.title, descriptionHtml: p.descriptionHtml }))),
);

app.get("/api/v1/products/:id", async (c) => {
  const id = productId(c.req.param("id"));
  if (id === undefined) return c.json({ error: "please provide a valid product id" }, 404);
  const d = await details(c.env, id, outbound(c.req.raw, getCookie(c, "session")));
  return d ? c.json(d) : c.json({ error: DETAILS_ERROR }, 503);
});

app.get("/api/v1/products/:id/reviews", async (c) => {
  const id = productId(c.req.param("id"));
  if (id === undefined) return c.json({ error: "please provide a valid product id" }, 404);
  const r = await reviews(c.env, id, outbound(c.req.raw, getCookie(c, "session")));
  return r ? c.json({ id, reviews: r }) : c.json({ error: REVIEWS_ERROR }, 503);
});

app.get("/api/v1/products/:id/ratings", async (c) => {
  const id = productId(c.req.param("id"));
  if (id === undefined) return c.json({ error: "please provide a valid product id" }, 404);
  const r = await reviews(c.env, id, outbound(c.req.raw, getCookie(c, "session")));
  if (!r) return c.json({ error: "Sorry, product ratings are currently unavailable for this book." }, 503);
  return c.json({ id, ratings: Object.fromEntries(r.map((x) => [x.reviewer, x.rating?.stars ?? null])) });
});

export default app;

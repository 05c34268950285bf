import { Hono } from "hono";
import { callService, forwardedHeaders } from "../forward-headers.ts";

// Istio Bookinfo's reviews service: v1 without ratings, v2 black stars, v3 red stars.
type Env = { VERSION?: string; STAR_COLOR?: string; ENABLE_RATINGS?: string; RATINGS?: Fetcher };

const REVIEWS = [
  { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!" },
  {
    reviewer: "Reviewer2",
    text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.",
  },
];

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "Reviews is healthy" }));

app.get("/reviews/:id", async (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id)) return c.json({ error: "please provide numeric product ID" }, 400);
  const version = c.env.VERSION ?? "v1";
  const ratingsEnabled = (c.env.ENABLE_RATINGS ?? String(version !== "v1")) === "true";
  const color = c.env.STAR_COLOR ?? "black";
  let ratings: Record<string, number> | undefined;
  let unavailable = false;
  if (ratingsEnabled) {
    const res = await callService(
      c.env.RATINGS,
      `http://ratings/ratings/${id}`,
      forwardedHeaders(c.req.raw.headers),
      2500,
    );
    if (res?.status === 200) ratings = (res.body as { ratings?: Record<string, number> }).ratings;
    else unavailable = true;
  }
  return c.json({
    id: String(id),
    podname: `reviews-${version}`,
    clustername: "null",
    reviews: REVIEWS.map((r) => ({
      ...r,
      ...(ratingsEnabled
        ? {
            rating: unavailable
              ? { error: "Ratings service is currently unavailable" }
              : { stars: ratings?.[r.reviewer] ?? 0, color },
          }
        : {}),
    })),
  });
});

export default app;

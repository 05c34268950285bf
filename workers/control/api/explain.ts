import { Hono } from "hono";
import type { HopRecord } from "../../../shared/explain/hop.ts";
import { explainTree } from "../../../shared/explain/tree.ts";
import { explainStore } from "../mesh-control.ts";
import { requireRole } from "./auth.ts";
import { type AppEnv, apiError } from "./context.ts";

/** Decision records of real requests (sent with x-isomesh-debug), joined across hops by trace id. */
export const explainRoutes = new Hono<AppEnv>();

explainRoutes.get("/v1/explain", requireRole("viewer"), async (c) => c.json({ items: await explainStore(c.env).recent(Math.min(200, Number(c.req.query("limit") ?? 50) || 50)) }));

explainRoutes.get("/v1/explain/:id", requireRole("viewer"), async (c) => {
  const id = c.req.param("id");
  if (!/^[0-9a-f]{32}$/.test(id)) return c.json(apiError("invalid", "an explain id is a 32-hex-digit trace id"), 400);
  const hops = (await explainStore(c.env).get(id)).map((text) => JSON.parse(text) as HopRecord);
  if (hops.length === 0) return c.json(apiError("not_found", `no decision record for ${id} (records arrive within about a second; the last 2000 hops are kept)`), 404);
  return c.json({ id, hops: explainTree(hops) });
});

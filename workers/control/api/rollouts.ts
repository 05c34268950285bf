import { Hono } from "hono";
import { configStore } from "../objects.ts";
import { requireRole } from "./auth.ts";
import { type AppEnv, apiError } from "./context.ts";

/** Rollouts with their server-written status, and the operator's pause / resume / abort. */
export const rolloutRoutes = new Hono<AppEnv>();

rolloutRoutes.get("/v1/rollouts", requireRole("viewer"), async (c) =>
  c.json({ items: await configStore(c.env).list("Rollout") }),
);

rolloutRoutes.get("/v1/rollouts/:name", requireRole("viewer"), async (c) => {
  const [item] = await configStore(c.env).list("Rollout", c.req.param("name"));
  return item ? c.json(item) : c.json(apiError("not_found", `Rollout/${c.req.param("name")} not found`), 404);
});

rolloutRoutes.post("/v1/rollouts/:name/:action{pause|resume|abort}", requireRole("editor"), async (c) => {
  const result = await configStore(c.env).rolloutAction(
    c.req.param("name"),
    c.req.param("action") as "pause" | "resume" | "abort",
    c.get("principal").name,
  );
  if (!result.ok) return c.json({ errors: result.errors }, result.status);
  const { ok: _ok, rolloutStatus, ...body } = result;
  return c.json({ ...body, status: rolloutStatus });
});

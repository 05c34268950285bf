import { Hono } from "hono";
import { type AppEnv, apiError } from "./context.ts";
import { configRoutes } from "./config.ts";
import { explainRoutes } from "./explain.ts";
import { observeRoutes } from "./observe.ts";
import { rolloutRoutes } from "./rollouts.ts";
import { splitRoutes } from "./splits.ts";
import { uiRoutes } from "../ui/routes.ts";
import { openapiRoutes } from "./openapi.ts";

/** The admin API (DESIGN §3). Every route needs a bearer token; changes need the editor role. */
export function createAdminApi() {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.redirect("/ui"));
  app.get("/healthz", (c) => c.json({ ok: true }));
  // Ready once it runs; under `isomesh dev` the start gate answers 503 until the mesh is (scripts/lib/entry-guard.ts).
  app.get("/readyz", (c) => c.json({ status: "ready" }));
  app.route("/", configRoutes);
  app.route("/", explainRoutes);
  app.route("/", observeRoutes);
  app.route("/", rolloutRoutes);
  app.route("/", splitRoutes);
  app.route("/", uiRoutes);
  app.route("/", openapiRoutes);
  app.notFound((c) => c.json(apiError("not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c) => {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "admin API error",
        path: c.req.path,
        error: String(err),
        stack: err.stack,
      }),
    );
    return c.json(apiError("internal", "the control plane failed to handle the request"), 500);
  });
  return app;
}

import { Hono } from "hono";
import type { AppEnv } from "../api/context.ts";
import dashboard from "./dashboard.html";

/**
 * The dashboard page. It is static and needs no token to load; the token arrives in the URL
 * fragment (never sent to a server), and the page sends it only as a bearer header.
 */
export const uiRoutes = new Hono<AppEnv>();

uiRoutes.get("/ui", (c) =>
  c.html(dashboard, 200, {
    "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  }),
);

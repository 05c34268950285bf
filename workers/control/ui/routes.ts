import { Hono } from "hono";
import type { AppEnv } from "../api/context.ts";
import script from "./app.bundle.js";
import dashboard from "./dashboard.html";

/**
 * The dashboard: a static page and its bundled script (Cytoscape and all, served from here: no
 * CDN). Neither needs a token to load; the token arrives in the URL fragment (never sent to a
 * server), and the page sends it only as a bearer header.
 */
export const uiRoutes = new Hono<AppEnv>();

const SECURITY_HEADERS = { "referrer-policy": "no-referrer", "x-content-type-options": "nosniff" };

uiRoutes.get("/ui", (c) =>
  c.html(dashboard, 200, {
    // No inline script: only /ui/app.js runs. Styles stay inline (the page's <style>, Cytoscape's element styles).
    "content-security-policy":
      "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    "cache-control": "no-store",
    ...SECURITY_HEADERS,
  }),
);

// A cheap content hash (FNV-1a), computed once per isolate, so browsers revalidate instead of refetching.
let etag: string | undefined;
const etagOf = (text: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return `"${(h >>> 0).toString(16)}-${text.length.toString(16)}"`;
};

uiRoutes.get("/ui/app.js", (c) => {
  etag ??= etagOf(script);
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
  return c.body(script, 200, {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "no-cache",
    etag,
    ...SECURITY_HEADERS,
  });
});

import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { type AppEnv, apiError, type Principal, type Role } from "./context.ts";

const TokenList = z.array(z.object({ name: z.string(), token: z.string().min(16), role: z.enum(["viewer", "editor"]) }));
type Token = { name: string; role: Role; digest: ArrayBuffer };

const digest = (s: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
let cache: { source: string; tokens: Promise<Token[]> } | undefined;

function tokensOf(env: AppEnv["Bindings"]): Promise<Token[]> {
  const source = `${env.ADMIN_TOKENS ?? ""}|${env.ADMIN_TOKEN ?? ""}`;
  if (cache?.source === source) return cache.tokens;
  const list = env.ADMIN_TOKENS ? TokenList.parse(JSON.parse(env.ADMIN_TOKENS)) : [];
  if (env.ADMIN_TOKEN) list.push({ name: "admin", token: env.ADMIN_TOKEN, role: "editor" });
  cache = { source, tokens: Promise.all(list.map(async (t) => ({ name: t.name, role: t.role, digest: await digest(t.token) }))) };
  return cache.tokens;
}

/** The principal a bearer token stands for. Digests are compared in constant time, every token checked. */
export async function principalOf(env: AppEnv["Bindings"], token: string | undefined): Promise<Principal | undefined> {
  if (!token) return undefined;
  const presented = await digest(token);
  let found: Principal | undefined;
  for (const t of await tokensOf(env)) if (crypto.subtle.timingSafeEqual(presented, t.digest) && !found) found = { name: t.name, role: t.role };
  return found;
}

const bearer = (header: string | undefined) => (header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined);

/** Requires a valid admin token; `editor` routes also require the editor role. */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const principal = await principalOf(c.env, bearer(c.req.header("authorization")));
    if (!principal) return c.json(apiError("unauthorized", "a valid admin token is required (Authorization: Bearer <token>)"), 401, { "www-authenticate": 'Bearer realm="isomesh"' });
    if (role === "editor" && principal.role !== "editor") return c.json(apiError("forbidden", `token "${principal.name}" has role ${principal.role}; this needs editor`), 403);
    c.set("principal", principal);
    await next();
  });

import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { AdminOidc, roleFromClaims } from "../../../shared/security/admin-oidc.ts";
import { JwtVerifier, TokenCache } from "../../../shared/security/jwt.ts";
import { compileJwtRule } from "../../../shared/security/authn.ts";
import { type AppEnv, apiError, type Principal, type Role } from "./context.ts";

const TokenList = z.array(
  z.object({ name: z.string(), token: z.string().min(16), role: z.enum(["viewer", "editor"]) }),
);
type Token = { name: string; role: Role; digest: ArrayBuffer };
type Env = AppEnv["Bindings"];

const digest = (s: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
let cache: { source: string; tokens: Promise<Token[]>; error?: string } | undefined;

/** Why a setting failed to parse: each zod issue as `path: message`. */
const reasonOf = (e: unknown) =>
  e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") : String(e);

function tokensOf(env: Env): { tokens: Promise<Token[]>; error?: string } {
  const source = `${env.ADMIN_TOKENS ?? ""}|${env.ADMIN_TOKEN ?? ""}`;
  if (cache?.source === source) return cache;
  let list: z.infer<typeof TokenList> = [];
  let error: string | undefined;
  try {
    if (env.ADMIN_TOKENS) list = TokenList.parse(JSON.parse(env.ADMIN_TOKENS));
  } catch (e) {
    // A broken secret must not crash every request: ADMIN_TOKEN (if any) still works.
    error = reasonOf(e);
    console.error(JSON.stringify({ level: "error", msg: "ADMIN_TOKENS is invalid", error }));
  }
  if (env.ADMIN_TOKEN) list.push({ name: "admin", token: env.ADMIN_TOKEN, role: "editor" });
  cache = {
    source,
    error,
    tokens: Promise.all(list.map(async (t) => ({ name: t.name, role: t.role, digest: await digest(t.token) }))),
  };
  return cache;
}

// The OIDC verifier is the data plane's JwtVerifier (same refusals, JWKS cache and token cache),
// rebuilt only when the ADMIN_OIDC setting changes.
let oidc: { source: string; config: AdminOidc; verifier: JwtVerifier } | { source: string; error: string } | undefined;

function oidcOf(env: Env) {
  if (!env.ADMIN_OIDC) return undefined;
  if (oidc?.source === env.ADMIN_OIDC) return oidc;
  let config: AdminOidc;
  try {
    config = AdminOidc.parse(JSON.parse(env.ADMIN_OIDC));
  } catch (e) {
    // A broken setting must not take admin tokens down with it: JWTs are refused, saying why.
    const error = reasonOf(e);
    console.error(JSON.stringify({ level: "error", msg: "ADMIN_OIDC is invalid", error }));
    return (oidc = { source: env.ADMIN_OIDC, error });
  }
  const rule = compileJwtRule("admin.oidc", config);
  const fetcher = (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) });
  oidc = {
    source: env.ADMIN_OIDC,
    config,
    verifier: new JwtVerifier([rule], { fetcher, cache: new TokenCache(1000) }),
  };
  return oidc;
}

export type AdminAuth = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; message: string };

/**
 * Who a bearer token stands for: an admin token (digests compared in constant time, every token
 * checked) or, with ADMIN_OIDC set, a JWT of the identity provider whose role claim grants a role.
 */
export async function authenticateAdmin(env: Env, token: string | undefined): Promise<AdminAuth> {
  const unauthorized = (message: string) => ({ ok: false, status: 401, message }) as const;
  if (!token) return unauthorized("a valid admin token is required (Authorization: Bearer <token>)");
  const presented = await digest(token);
  const known = tokensOf(env);
  let found: Principal | undefined;
  for (const t of await known.tokens)
    if (crypto.subtle.timingSafeEqual(presented, t.digest) && !found) found = { name: t.name, role: t.role };
  if (found) return { ok: true, principal: found };
  const o = oidcOf(env);
  const required = `a valid admin token is required (Authorization: Bearer <token>)${known.error ? `; the ADMIN_TOKENS secret is invalid: ${known.error}` : ""}`;
  if (!o || token.split(".").length !== 3) return unauthorized(required);
  if ("error" in o)
    return unauthorized(`JWTs cannot be checked: the admin OIDC setting (ADMIN_OIDC) is invalid: ${o.error}`);
  const verified = await o.verifier.verify(token);
  if (!verified.ok) return unauthorized(`invalid token: ${verified.reason}`);
  const role = roleFromClaims(o.config, verified.claims);
  if (!role)
    return {
      ok: false,
      status: 403,
      message: `${verified.principal} has no isomesh role: claim "${o.config.roleClaim}" grants none of ${[...o.config.editors, ...o.config.viewers].join(", ")}`,
    };
  return { ok: true, principal: { name: verified.principal, role } };
}

/** The principal a bearer token stands for, if any (debug tokens, the dashboard). */
export async function principalOf(env: Env, token: string | undefined): Promise<Principal | undefined> {
  const auth = await authenticateAdmin(env, token);
  return auth.ok ? auth.principal : undefined;
}

const bearer = (header: string | undefined) => (header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined);

/** Requires a valid admin token; `editor` routes also require the editor role. */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const auth = await authenticateAdmin(c.env, bearer(c.req.header("authorization")));
    if (!auth.ok && auth.status === 401)
      return c.json(apiError("unauthorized", auth.message), 401, { "www-authenticate": 'Bearer realm="isomesh"' });
    if (!auth.ok) return c.json(apiError("forbidden", auth.message), 403);
    const principal = auth.principal;
    if (role === "editor" && principal.role !== "editor")
      return c.json(
        apiError("forbidden", `token "${principal.name}" has role ${principal.role}; this needs editor`),
        403,
      );
    c.set("principal", principal);
    await next();
  });

import { type Context, Hono } from "hono";
import { parseDuration } from "../../../shared/duration.ts";
import { resolveKind } from "../../../shared/resources/index.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";
import { splitDocuments, validateDocuments } from "../../../shared/resources/parse.ts";
import { oversizedResources } from "../../../shared/resources/limits.ts";
import { parseJson, readBodyText } from "./body.ts";
import type { ApplyResult } from "../config-store/config-store.ts";
import { configStore } from "../objects.ts";
import { requireRole } from "./auth.ts";
import { type AppEnv, apiError } from "./context.ts";

/** Config routes: apply, resources, version, history, rollback, status, snapshots, analyze. */
export const configRoutes = new Hono<AppEnv>();

const ifMatch = (header: string | undefined) => {
  if (header === undefined) return { value: undefined };
  const v = Number(header.replace(/^W\//, "").replace(/"/g, ""));
  return Number.isInteger(v) && v >= 0
    ? { value: v }
    : { error: `If-Match must be a config version (an integer), got ${JSON.stringify(header)}` };
};

/**
 * Answers a change; with `wait`, only once every live edge it republished runs it (or at the timeout,
 * 202). `parseWarnings` (e.g. a status sent and ignored) come first in `warnings`.
 */
async function respondToChange(
  c: Context<AppEnv>,
  result: ApplyResult,
  wait: boolean,
  timeoutMs: number,
  parseWarnings: ResourceIssue[] = [],
) {
  if (!result.ok) return c.json({ errors: result.errors }, result.status);
  const { ok: _ok, ...rest } = result;
  const body = { ...rest, warnings: [...parseWarnings, ...rest.warnings] };
  if (!wait || result.dryRun || result.republished.length === 0) return c.json(body, 200);
  const deadline = Date.now() + timeoutMs;
  const store = configStore(c.env);
  for (;;) {
    const status = await store.status();
    // An idle edge is not behind: no isolate runs it, and the next to start loads the current snapshot.
    const behind = status.edges.filter(
      (e) => result.republished.includes(e.edge) && (e.state === "stale" || e.state === "rejected"),
    );
    if (behind.length === 0) return c.json({ ...body, converged: true }, 200);
    if (Date.now() >= deadline)
      return c.json(
        {
          ...body,
          converged: false,
          behind: behind.map((e) => ({ edge: e.edge, state: e.state, version: e.version })),
        },
        202,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

configRoutes.post("/v1/apply", requireRole("editor"), async (c) => {
  const body = await readBodyText(c.req.raw);
  if (!body.ok) return body.response;
  const split = splitDocuments(body.text);
  const oversized = oversizedResources(split.docs);
  if (oversized.length) return c.json({ errors: oversized }, 413);
  const { parsed, errors, warnings } = validateDocuments(split.docs);
  const all = [...split.errors, ...errors];
  if (all.length) return c.json({ errors: all }, 422);
  if (parsed.length === 0)
    return c.json({ errors: [{ resource: "(body)", path: "", message: "no resources in the request body" }] }, 422);
  const match = ifMatch(c.req.header("if-match"));
  if (match.error) return c.json({ errors: [{ resource: "version", path: "If-Match", message: match.error }] }, 400);
  const by = c.get("principal").name;
  const docs = parsed.map((p) => p.doc);
  // The manifest's defaults (isomesh dev on every start): only those never applied before are.
  if (c.req.query("defaults") === "true") {
    const result = await configStore(c.env).applyDefaults(docs, by);
    return result ? respondToChange(c, result, false, 0, warnings) : c.json({ skipped: "no new defaults" }, 200);
  }
  const result = await configStore(c.env).apply(docs, {
    by,
    dryRun: c.req.query("dryRun") === "true",
    ifMatch: match.value,
  });
  return respondToChange(
    c,
    result,
    c.req.query("wait") === "true",
    parseDuration(c.req.query("timeout") ?? "5s") ?? 5000,
    warnings,
  );
});

configRoutes.get("/v1/resources/:kind?/:name?", requireRole("viewer"), async (c) => {
  const kindParam = c.req.param("kind");
  const kind = kindParam ? resolveKind(kindParam) : undefined;
  if (kindParam && !kind) return c.json(apiError("unknown_kind", `unknown kind "${kindParam}"`), 404);
  const name = c.req.param("name");
  const items = await configStore(c.env).list(kind, name);
  if (name) return items[0] ? c.json(items[0]) : c.json(apiError("not_found", `${kind}/${name} not found`), 404);
  return c.json({ items });
});

configRoutes.delete("/v1/resources/:kind/:name", requireRole("editor"), async (c) => {
  const kind = resolveKind(c.req.param("kind"));
  if (!kind) return c.json(apiError("unknown_kind", `unknown kind "${c.req.param("kind")}"`), 404);
  const match = ifMatch(c.req.header("if-match"));
  if (match.error) return c.json({ errors: [{ resource: "version", path: "If-Match", message: match.error }] }, 400);
  const result = await configStore(c.env).remove(kind, c.req.param("name"), {
    by: c.get("principal").name,
    ifMatch: match.value,
    dryRun: c.req.query("dryRun") === "true",
  });
  return respondToChange(
    c,
    result,
    c.req.query("wait") === "true",
    parseDuration(c.req.query("timeout") ?? "5s") ?? 5000,
  );
});

configRoutes.get("/v1/version", requireRole("viewer"), async (c) =>
  c.json({ version: await configStore(c.env).version() }),
);

configRoutes.get("/v1/history", requireRole("viewer"), async (c) => {
  const limit = Math.min(1000, Number(c.req.query("limit") ?? 100) || 100);
  return c.json({ entries: await configStore(c.env).history(limit, c.req.query("full") === "true") });
});

configRoutes.get("/v1/history/:version", requireRole("viewer"), async (c) => {
  const text = c.req.param("version");
  const version = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  const entry = Number.isSafeInteger(version) ? await configStore(c.env).historyEntry(version) : null;
  if (entry) return c.json(entry);
  const current = await configStore(c.env).version();
  const why = Number.isSafeInteger(version)
    ? `no version ${version} in history (current is ${current})`
    : `a version is a non-negative integer, got ${JSON.stringify(text)}`;
  return c.json({ errors: [{ resource: "version", path: "version", message: why }] }, 404);
});

configRoutes.post("/v1/rollback", requireRole("editor"), async (c) => {
  const text = await readBodyText(c.req.raw);
  if (!text.ok) return text.response;
  const body = parseJson(text.text) as { version?: unknown } | undefined;
  if (typeof body?.version !== "number")
    return c.json(
      { errors: [{ resource: "(body)", path: "version", message: "version (an integer) is required" }] },
      422,
    );
  const result = await configStore(c.env).rollback(body.version, { by: c.get("principal").name });
  return respondToChange(
    c,
    result,
    c.req.query("wait") === "true",
    parseDuration(c.req.query("timeout") ?? "5s") ?? 5000,
  );
});

configRoutes.get("/v1/status", requireRole("viewer"), async (c) => c.json(await configStore(c.env).status()));

configRoutes.get("/v1/snapshots/:edge", requireRole("viewer"), async (c) => {
  const body = await configStore(c.env).snapshotBody(c.req.param("edge"));
  if (body === null) return c.json(apiError("not_found", `no snapshot for edge "${c.req.param("edge")}"`), 404);
  return c.body(body, 200, { "content-type": "application/json" });
});

/** `istioctl analyze`: the whole config (optionally with the body's resources applied) checked, nothing stored. */
configRoutes.post("/v1/analyze", requireRole("viewer"), async (c) => {
  const body = await readBodyText(c.req.raw, undefined, { warnings: [] });
  if (!body.ok) return body.response;
  const split = body.text.trim() ? splitDocuments(body.text) : { docs: [], errors: [] };
  const oversized = oversizedResources(split.docs);
  if (oversized.length) return c.json({ errors: [...split.errors, ...oversized], warnings: [] }, 200);
  const { parsed, errors, warnings } = validateDocuments(split.docs);
  if (split.errors.length || errors.length) return c.json({ errors: [...split.errors, ...errors], warnings }, 200);
  const result = await configStore(c.env).analyzeWith(parsed.map((p) => p.doc));
  return c.json({ ...result, warnings: [...warnings, ...result.warnings] });
});

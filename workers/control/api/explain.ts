import { Hono } from "hono";
import type { HopRecord } from "../../../shared/explain/hop.ts";
import { explainTree } from "../../../shared/explain/tree.ts";
import { explainSynthetic, SyntheticRequest } from "../../../shared/explain/synthetic.ts";
import { Snapshot } from "../../../shared/snapshot/schema.ts";
import { edgesOf } from "../../../shared/snapshot/scope.ts";
import { EGRESS, GATEWAY } from "../../../shared/names.ts";
import type { Topology } from "../../../shared/manifest/topology.ts";
import { configStore, explainStore } from "../objects.ts";
import { requireRole } from "./auth.ts";
import { type AppEnv, apiError } from "./context.ts";
import { parseJson, readBodyText } from "./body.ts";

/** Why a synthetic east-west caller cannot call `service` (bindings are static: only declared calls exist), if it cannot. */
function callerProblem(
  topology: Topology,
  caller: string | undefined,
  service: string | undefined,
): string | undefined {
  if (caller === undefined) return undefined;
  if (!service) return "caller needs service (the service it calls east-west)";
  if (caller === GATEWAY) return service === EGRESS ? "the gateway does not call the egress edge" : undefined;
  const from = topology.services.find((s) => s.name === caller);
  if (!from)
    return `unknown caller "${caller}" (expected ${GATEWAY} or one of ${topology.services.map((s) => s.name).join(", ")})`;
  // Any app can reach the egress edge: by its EGRESS binding, or (undeclared) by a captured global fetch.
  if (service === EGRESS) return undefined;
  if (!from.calls.includes(service))
    return `${caller} does not call ${service}: the manifest gives it bindings to ${from.calls.join(", ") || "no services"}`;
  return undefined;
}

/** Decision records of real requests (sent with x-isomesh-debug), joined across hops by trace id. */
export const explainRoutes = new Hono<AppEnv>();

explainRoutes.get("/v1/explain", requireRole("viewer"), async (c) =>
  c.json({ items: await explainStore(c.env).recent(Math.min(200, Number(c.req.query("limit") ?? 50) || 50)) }),
);

explainRoutes.get("/v1/explain/:id", requireRole("viewer"), async (c) => {
  const id = c.req.param("id");
  if (!/^[0-9a-f]{32}$/.test(id)) return c.json(apiError("invalid", "an explain id is a 32-hex-digit trace id"), 400);
  const hops = (await explainStore(c.env).get(id)).map((text) => JSON.parse(text) as HopRecord);
  if (hops.length === 0)
    return c.json(
      apiError(
        "not_found",
        `no decision record for ${id} (records arrive within about a second; the last 2000 hops are kept)`,
      ),
      404,
    );
  return c.json({ id, hops: explainTree(hops) });
});

explainRoutes.post("/v1/explain", requireRole("viewer"), async (c) => {
  const body = await readBodyText(c.req.raw);
  if (!body.ok) return body.response;
  const parsed = SyntheticRequest.safeParse(parseJson(body.text));
  if (!parsed.success)
    return c.json(
      {
        errors: parsed.error.issues.map((i) => ({ resource: "(request)", path: i.path.join("."), message: i.message })),
      },
      422,
    );
  const store = configStore(c.env);
  const topology = await store.topologyOf();
  const snapshots = new Map<string, Snapshot>();
  for (const edge of edgesOf(topology)) {
    const body = await store.snapshotBody(edge);
    if (body) snapshots.set(edge, Snapshot.parse(JSON.parse(body)));
  }
  const service = parsed.data.service;
  if (service === EGRESS && !topology.egress)
    return c.json(
      { errors: [{ resource: "(request)", path: "service", message: "this mesh has no egress edge" }] },
      422,
    );
  if (service && service !== EGRESS && !topology.services.some((s) => s.name === service))
    return c.json(
      { errors: [{ resource: "(request)", path: "service", message: `unknown service "${service}"` }] },
      422,
    );
  const callerError = callerProblem(topology, parsed.data.caller, service);
  if (callerError) return c.json({ errors: [{ resource: "(request)", path: "caller", message: callerError }] }, 422);
  return c.json({
    version: await store.version(),
    synthetic: true,
    hops: explainSynthetic(parsed.data, (e) => snapshots.get(e)),
  });
});

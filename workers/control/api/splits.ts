import { Hono } from "hono";
import { edgeName } from "../../../shared/names.ts";
import { Snapshot } from "../../../shared/snapshot/schema.ts";
import { configuredSplit } from "../../../shared/snapshot/split-summary.ts";
import { configStore } from "../objects.ts";
import { requireRole } from "./auth.ts";
import type { AppEnv } from "./context.ts";

/** The split each service edge is configured to make, from the snapshot it runs (beside `/v1/stats`' observed shares). */
export const splitRoutes = new Hono<AppEnv>();

splitRoutes.get("/v1/splits", requireRole("viewer"), async (c) => {
  const store = configStore(c.env);
  const [topology, version] = await Promise.all([store.topologyOf(), store.version()]);
  const services = await Promise.all(
    topology.services.map(async (s) => {
      const body = await store.snapshotBody(edgeName(s.name));
      return { service: s.name, rules: body ? configuredSplit(Snapshot.parse(JSON.parse(body))) : [] };
    }),
  );
  return c.json({ version, services });
});

import { allowsOrigin, compileCors, describeCors, isPreflight } from "../routing/cors.ts";
import type { Explainer } from "./synthetic.ts";

/** The cors stage on a synthetic request: the matched rule's CORS filter judges its Origin; a preflight stops here, as the edge answers it. */
export const corsExplainer: Explainer = (h) => {
  const origin = h.headers.get("origin");
  if (origin === null) return;
  const entry = h.table.match(h.facts);
  const filter = entry?.filters.find((f) => f.type === "CORS");
  if (!entry || !filter) return;
  const allowed = allowsOrigin(compileCors(filter.cors), origin);
  const preflight = isPreflight(h.facts.method, h.headers);
  h.decisions.push(describeCors(entry, origin, allowed, preflight));
  if (preflight) return "stop";
};

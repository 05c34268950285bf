import type * as z from "zod/mini";
import type { HeaderMatch, PathMatch, QueryParamMatch, RpcMatch } from "../resources/route-match.ts";

/** Where a route match (or a fault's header match) holds RegularExpression values. */
export type RegexHolder = {
  path?: z.infer<typeof PathMatch>;
  headers?: z.infer<typeof HeaderMatch>[];
  queryParams?: z.infer<typeof QueryParamMatch>[];
  rpc?: RpcMatch;
};

/** The RegularExpression values of one match, each with its path in the match. */
export function regexFields(m: RegexHolder): { path: (string | number)[]; source: string }[] {
  const out: { path: (string | number)[]; source: string }[] = [];
  if (m.path?.type === "RegularExpression") out.push({ path: ["path", "value"], source: m.path.value });
  for (const key of ["headers", "queryParams"] as const)
    m[key]?.forEach((h, i) => {
      if (h.type === "RegularExpression") out.push({ path: [key, i, "value"], source: h.value });
    });
  if (m.rpc?.type === "RegularExpression")
    for (const key of ["entrypoint", "method"] as const) {
      const source = m.rpc[key];
      if (source !== undefined) out.push({ path: ["rpc", key], source });
    }
  return out;
}

/** Every RegularExpression an edge evaluates: its routes' matches and its fault injection's header match. */
export function regexSources(vhosts: readonly { routes: readonly RegexHolder[] }[], fault?: RegexHolder): Set<string> {
  const fields = [...vhosts.flatMap((vh) => vh.routes.flatMap(regexFields)), ...(fault ? regexFields(fault) : [])];
  return new Set(fields.map((f) => f.source));
}

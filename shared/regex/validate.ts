import type * as z from "zod/mini";
import type { HeaderMatch, PathMatch, QueryParamMatch, RpcMatch } from "../resources/route-match.ts";
import { compileRegex } from "./compile.ts";

// Apply-time: every RegularExpression a resource holds must be one the edges can run (RE2 syntax,
// within the program size limit), refused with the field's path otherwise, as Istio refuses a
// VirtualService whose regex RE2 does not accept. Only admin-side schemas call this (it loads RE2).

export type RegexIssue = { path: (string | number)[]; message: string };

/** The RegularExpression values of one HTTPRoute match (or a fault's header match), each with its path. */
export function regexFields(m: {
  path?: z.infer<typeof PathMatch>;
  headers?: z.infer<typeof HeaderMatch>[];
  queryParams?: z.infer<typeof QueryParamMatch>[];
  rpc?: RpcMatch;
}): { path: (string | number)[]; source: string }[] {
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

/** Why the edges could not run each of a match's regular expressions (none: all can). */
export function regexIssues(m: Parameters<typeof regexFields>[0]): RegexIssue[] {
  return regexFields(m).flatMap(({ path, source }) => {
    const compiled = compileRegex(source);
    return compiled.ok ? [] : [{ path, message: `invalid regular expression: ${compiled.reason}` }];
  });
}

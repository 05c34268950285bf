import type { CompiledRoute } from "./routes.ts";

const describePath = (r: CompiledRoute) =>
  r.path.type === "Exact"
    ? `exact path ${r.path.value}`
    : r.path.type === "PathPrefix"
      ? `prefix ${r.path.value}`
      : `regex path ${r.path.value}`;

export const routeLabel = (r: CompiledRoute) =>
  `HTTPRoute/${r.route} rule ${r.rule}${r.ruleName ? ` (${r.ruleName})` : ""}`;

/** Why `winner` took precedence over `loser`, in Gateway API's words. Both matched the request. */
export function whyBeat(winner: CompiledRoute, loser: CompiledRoute): string {
  const w = describePath(winner);
  const l = describePath(loser);
  if (winner.path.type !== loser.path.type)
    return `${w} beat ${l} (${winner.path.type} ranks before ${loser.path.type})`;
  if (winner.path.value.length !== loser.path.value.length) return `${w} beat ${l} (longer path)`;
  if (!!winner.method !== !!loser.method) return `method ${winner.method} beat a match without method`;
  if (winner.headers.length !== loser.headers.length)
    return `${winner.headers.length} header matches beat ${loser.headers.length}`;
  if (winner.queryParams.length !== loser.queryParams.length)
    return `${winner.queryParams.length} query param matches beat ${loser.queryParams.length}`;
  if (winner.route !== loser.route)
    return `${routeLabel(winner)} beat ${routeLabel(loser)} (older route, or name order on a tie)`;
  return `rule ${winner.rule} beat rule ${loser.rule} (rule order)`;
}

import { compileRegexes } from "../regex/compile.ts";
import { regexSources } from "../regex/fields.ts";
import type { RegexPrograms } from "../regex/program.ts";
import type { VirtualHost } from "../routing/routes.ts";
import type { CompiledPolicy } from "./schema.ts";

/**
 * The compiled program of every regular expression an edge evaluates (its routes' path, header,
 * query and rpc matches, its fault injection's header matches), by source: compiled once per
 * snapshot, in the control plane, so the edge only runs them. Absent when there is none. Every
 * pattern compiles: apply refused those that do not, and a stored resource that no longer
 * validates is not served (workers/control/config-store/versions.ts).
 */
export function snapshotRegexes(
  vhosts: VirtualHost[],
  policy: CompiledPolicy | undefined,
): { regexes?: RegexPrograms } {
  const sources = regexSources(vhosts, policy?.faultInjection?.match);
  return sources.size ? { regexes: compileRegexes(sources) } : {};
}

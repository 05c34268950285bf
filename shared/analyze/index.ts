import type { Topology } from "../manifest/topology.ts";
import type { Resource } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";
import { checkExtAuthz } from "./ext-authz.ts";
import { checkReferences } from "./references.ts";
import { checkRolloutOwnership } from "./rollouts.ts";
import { checkShadowing } from "./shadowing.ts";
import { checkRpcMethods } from "./rpc-methods.ts";
import {
  checkDeadRules,
  checkEgressUnused,
  checkExternalHosts,
  checkGatewayRoutes,
  checkPolicyConflicts,
} from "./policies.ts";

/**
 * The whole-config checks (like `istioctl analyze`), run on the config as it would be after a
 * change: errors reject the change, warnings come back with the success.
 */
export function analyze(
  topology: Topology,
  resources: Resource[],
  opts: { full?: boolean } = {},
): { errors: ResourceIssue[]; warnings: ResourceIssue[] } {
  return {
    errors: [...checkReferences(topology, resources), ...checkExtAuthz(topology, resources)],
    warnings: [
      ...checkShadowing(resources),
      ...checkPolicyConflicts(resources),
      ...checkDeadRules(resources),
      ...checkExternalHosts(resources),
      ...checkRolloutOwnership(resources),
      ...checkRpcMethods(topology, resources),
      ...(opts.full ? [...checkGatewayRoutes(resources), ...checkEgressUnused(topology, resources)] : []),
    ],
  };
}

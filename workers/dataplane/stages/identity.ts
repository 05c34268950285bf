import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { decodeIdentity } from "../../../shared/security/identity-headers.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Authenticated, carry, type Exchange, type Stage } from "../exchange.ts";

/**
 * Inline outbound (in the caller's isolate): the end user is the one the gateway verified, when
 * the gateway is the caller; anyone else's request is anonymous here. No token is judged in the
 * caller: the callee's inbound does that, where the result can be trusted (authenticate.ts).
 * Hands on the `identity`, so routing and sticky sessions read the same claims as at an edge.
 */
export const identity =
  <T extends Exchange, R>(snapshot: Snapshot): Stage<T, Authenticated<T>, R> =>
  (x, next) => {
    if (!x.trustedCaller || x.kind === "rpc") return next(carry(x, "identity", undefined));
    const fromGateway = decodeIdentity(x.headers.get(H.principal), x.headers.get(H.claims));
    if (!fromGateway.ok) {
      x.flags.add("identity_invalid");
      throw new MeshError(
        "identity_invalid",
        `the end-user identity the gateway sent cannot be read: ${fromGateway.reason}`,
        { edge: snapshot.edge },
      );
    }
    return next(carry(x, "identity", fromGateway.identity));
  };

import * as z from "zod/mini";
import { isRpcMethodPattern, MAX_METHOD_NAME } from "../rpc/method.ts";

// Workers RPC methods named in policies, as users write them and compiled snapshots carry them
// (zod/mini: see route-match.ts).

/**
 * Workers RPC methods by full name, Istio's value syntax (exact, `*`, `prefix*`, `*suffix`):
 * `getRating` on the default entrypoint, `Admin.reset` on a named one, `Admin.*` for all of it.
 */
export const RpcMethodValues = z
  .array(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(2 * MAX_METHOD_NAME + 1),
        z.refine(
          isRpcMethodPattern,
          "an RPC method is `method` (default entrypoint) or `Entrypoint.method`, with an optional leading or trailing `*`",
        ),
      ),
  )
  .check(z.maxLength(64));

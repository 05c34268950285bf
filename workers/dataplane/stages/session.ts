import { describeSession, keptBackend, sessionResponse, tokenOf } from "../../../shared/routing/session.ts";
import type { CompiledBackend } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Admitted } from "../exchange.ts";

/** Whether any rule of the snapshot keeps sessions: the split only looks when one does. */
export const keepsSessions = (snapshot: Snapshot) => snapshot.vhosts.some((v) => v.routes.some((r) => r.session));

/** A session's say in the split: the backend it keeps the request on, and how the picked backend is handed to the client. */
export type Persistence = { kept?: CompiledBackend; picked(backend: CompiledBackend): void };

/**
 * The matched rule's session persistence (shared/routing/session.ts), for a fetch: the backend the
 * request's token keeps it on, if it may still take traffic, and the token the response hands out.
 * A Workers RPC call has no cookie or header to carry a token (docs/traffic-management.md).
 */
export function persistence(x: Admitted, backends: readonly CompiledBackend[]): Persistence | undefined {
  if (x.kind !== "fetch") return undefined;
  const s = x.route.entry?.session;
  if (!s) return undefined;
  const nowS = Math.floor(Date.now() / 1000);
  const outcome = keptBackend(s, tokenOf(s, x.headers), backends, nowS);
  return {
    kept: outcome.kept,
    picked(backend) {
      const edit = sessionResponse(s, outcome, backend, nowS, x.href.startsWith("https:"));
      if (edit) x.onResponse(edit);
      if (x.record.on) x.record.add(describeSession(s, outcome, backend));
    },
  };
}

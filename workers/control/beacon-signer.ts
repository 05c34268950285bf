import type { Beacon } from "../../shared/snapshot/distribution.ts";
import { importSigningKey, signBeacon, type SigningKey } from "../../shared/snapshot/signature.ts";
import type { ControlEnv } from "./env.ts";

// Imported once per isolate (and again only if the secret changes, as after a key rotation).
let signer: { text: string; key: Promise<SigningKey> } | undefined;

/**
 * The beacon as edges read it: signed with the control plane's key (the `BEACON_SIGNING_KEY`
 * secret; `isomesh dev` keeps one in its state folder), issued now, for this mesh.
 */
export async function signedBeacon(env: ControlEnv, mesh: string, beacon: Beacon): Promise<string> {
  const text = env.BEACON_SIGNING_KEY;
  if (!text)
    throw new Error(
      "isomesh: the control plane has no BEACON_SIGNING_KEY secret, so edges cannot trust its config: run isomesh deploy, or wrangler secret put BEACON_SIGNING_KEY (docs/control-plane.md)",
    );
  if (signer?.text !== text) signer = { text, key: importSigningKey(text) };
  return signBeacon({ ...beacon, mesh, issuedAt: Date.now() }, await signer.key);
}

import { z } from "zod";

/**
 * Where a service's mesh stages run (DESIGN §1): `edge`, in a `<svc>-edge` Worker in front of its
 * versions (like an ambient waypoint: the mesh upgrades without touching the apps), or `inline`, in
 * the apps' own isolates (inbound in the callee, outbound in the caller: one binding hop per call,
 * but a mesh upgrade redeploys the apps, like sidecar injection).
 */
export const DataPlane = z.enum(["edge", "inline"]);
export type DataPlane = z.infer<typeof DataPlane>;

/**
 * A service's data plane: its own `dataPlane` when it sets one, else the mesh's, which
 * `isomesh dev --data-plane` (or `gen --data-plane`) may override.
 */
export function dataPlaneOf(
  m: { dataPlane: DataPlane; services: { name: string; dataPlane?: DataPlane }[] },
  service: string,
  meshOverride?: DataPlane,
): DataPlane {
  const s = m.services.find((x) => x.name === service);
  return s?.dataPlane ?? meshOverride ?? m.dataPlane;
}

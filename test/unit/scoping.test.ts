import { describe, expect, it } from "vitest";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { syntheticMesh } from "../../scripts/lib/synthetic-mesh.ts";

const bytes = (n: number, edge: string) => {
  const { topology, resources } = syntheticMesh(n);
  return JSON.stringify(compileSnapshot(topology, edge, resources, 1)).length;
};

describe("scoped snapshots", () => {
  it("a service edge's snapshot does not grow with the rest of the mesh", () => {
    const small = bytes(100, "svc-00042-edge");
    const large = bytes(2000, "svc-00042-edge");
    expect(Math.abs(large - small) / small).toBeLessThan(0.1);
  });

  it("holds only its own routes and policies", () => {
    const { topology, resources } = syntheticMesh(50);
    const snap = compileSnapshot(topology, "svc-00007-edge", resources, 1);
    const text = JSON.stringify(snap);
    expect(snap.vhosts.flatMap((v) => v.routes.map((r) => r.route))).toEqual(["svc-00007", "svc-00007"]);
    expect(snap.policy?.name).toBe("svc-00007");
    expect(text).not.toContain("svc-00008");
  });
});

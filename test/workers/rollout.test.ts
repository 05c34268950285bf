import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(`name: canary
services:
  - name: good
    versions:
      - { name: stable, echo: true }
      - { name: canary, echo: true }
  - name: bad
    versions:
      - { name: stable, echo: true }
      - { name: canary, echo: { failRate: 0.5 } }
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /good } }]
      backendRefs: [{ name: good }]
    - matches: [{ path: { type: PathPrefix, value: /bad } }]
      backendRefs: [{ name: bad }]
`);
});
afterAll(() => mesh?.stop());

const rollout = (service: string) => `apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: ${service}-canary }
spec:
  targetRef: { kind: Service, name: ${service} }
  stable: stable
  canary: canary
  steps: [20, 50, 100]
  interval: 1s
  analysis: { minRequests: 3, successRate: 95 }
`;

/** Sends traffic until the rollout settles; returns its final status and the phases it went through. */
async function drive(service: string) {
  const phases: string[] = [];
  const until = Date.now() + 40_000;
  for (;;) {
    for (let i = 0; i < 10; i++) await mesh.get(`/${service}/x`);
    const status = (await mesh.admin(`/v1/rollouts/${service}-canary`)).json().status;
    phases.push(`${status.phase}:${status.weight}`);
    if (status.phase === "Promoted" || status.phase === "RolledBack" || Date.now() > until) return { status, phases };
    await new Promise((r) => setTimeout(r, 100));
  }
}

const versions = async (service: string) => new Set(await Promise.all(Array.from({ length: 20 }, async () => (await mesh.get(`/${service}/x`)).json().version)));

describe("Rollout", () => {
  it("starts at the first step's weight", async () => {
    await mesh.apply(rollout("good"));
    const r = (await mesh.admin("/v1/rollouts/good-canary")).json();
    expect(r.status).toMatchObject({ phase: "Progressing", step: 1, weight: 20 });
    const snap = (await mesh.admin("/v1/snapshots/good-edge")).json();
    expect(snap.defaultBackends).toEqual([{ service: "good", version: "stable", weight: 80 }, { service: "good", version: "canary", weight: 20 }]);
  });

  it("promotes a healthy canary to 100% on its own, each step a version in history", async () => {
    const { status, phases } = await drive("good");
    expect(status.phase).toBe("Promoted");
    expect(phases.some((p) => p === "Progressing:50")).toBe(true);
    expect(await versions("good")).toEqual(new Set(["canary"]));
    const history = (await mesh.admin("/v1/history?limit=10")).json().entries;
    expect(history.filter((e: { by: string }) => e.by === "rollout/good-canary").length).toBeGreaterThanOrEqual(3);
  });

  it("rolls a failing canary back to 0% on its own", async () => {
    await mesh.apply(rollout("bad"));
    const { status } = await drive("bad");
    expect(status.phase).toBe("RolledBack");
    expect(status.message).toMatch(/success rate/);
    expect(await versions("bad")).toEqual(new Set(["stable"]));
  });

  it("pauses, resumes and aborts on request", async () => {
    await mesh.apply(rollout("good").replace("good-canary", "good-canary").replace("steps: [20, 50, 100]", "steps: [30, 60]"));
    expect((await mesh.admin("/v1/rollouts/good-canary/pause", { method: "POST" })).status).toBe(200);
    expect((await mesh.admin("/v1/rollouts/good-canary")).json().status.phase).toBe("Paused");
    expect((await mesh.admin("/v1/rollouts/good-canary/resume", { method: "POST" })).status).toBe(200);
    expect((await mesh.admin("/v1/rollouts/good-canary/abort", { method: "POST" })).status).toBe(200);
    expect((await mesh.admin("/v1/rollouts/good-canary")).json().status).toMatchObject({ phase: "RolledBack", weight: 0 });
    expect((await mesh.admin("/v1/rollouts/good-canary/resume", { method: "POST" })).status).toBe(409);
  });
});

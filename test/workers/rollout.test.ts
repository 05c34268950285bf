import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

// Wiring only: the Durable Object alarm fires, the controller reads real telemetry, edges run the
// weights it sets. The decisions themselves (steps, waiting, rollback, promotion, operator races)
// are tested in process with a fake clock: test/unit/rollout-controller.test.ts.

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
  - name: quiet
    versions:
      - { name: stable, echo: true }
      - { name: canary, echo: true }
  - name: routed
    versions:
      - { name: stable, echo: true }
      - { name: pinned, echo: true }
      - { name: canary, echo: true }
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
    - matches: [{ path: { type: PathPrefix, value: /routed } }]
      backendRefs: [{ name: routed }]
`);
});
afterAll(() => mesh?.stop());

const rollout = (service: string, steps: string, minRequests: number) => `apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: ${service}-canary }
spec:
  targetRef: { kind: Service, name: ${service} }
  stable: stable
  canary: canary
  steps: ${steps}
  interval: 1s
  analysis: { minRequests: ${minRequests}, successRate: 95 }
`;

const statusOf = async (name: string) => (await mesh.admin(`/v1/rollouts/${name}`)).json().status;
const versionNow = async () => (await mesh.admin("/v1/version")).json().version as number;
const versions = async (path: string) =>
  new Set(await Promise.all(Array.from({ length: 20 }, async () => (await mesh.get(path)).json().version)));

describe("Rollout, driven by the ConfigStore's alarm", () => {
  it("promotes, rolls back on real metrics and waits, within one interval; only the rollback is a version", async () => {
    const applied = await mesh.apply(
      [rollout("good", "[100]", 0), rollout("bad", "[50]", 3), rollout("quiet", "[50]", 1000)].join("---\n"),
    );
    expect(await statusOf("bad-canary")).toMatchObject({ phase: "Progressing", step: 1, weight: 50 });
    const snap = (await mesh.admin("/v1/snapshots/bad-edge")).json();
    expect(snap.defaultBackends).toEqual([
      { service: "bad", version: "stable", weight: 50 },
      { service: "bad", version: "canary", weight: 50 },
    ]);

    // Traffic for bad's analysis until the alarm (1 s after the apply) has analyzed every rollout.
    const until = Date.now() + 30_000;
    let good, bad, quiet;
    for (;;) {
      await Promise.all(Array.from({ length: 5 }, () => mesh.get("/bad/x")));
      [good, bad, quiet] = await Promise.all(["good-canary", "bad-canary", "quiet-canary"].map(statusOf));
      if ((good.phase === "Promoted" && bad.phase === "RolledBack" && quiet.lastAnalysis) || Date.now() > until) break;
    }
    expect(good).toMatchObject({ phase: "Promoted", weight: 100 });
    expect(bad).toMatchObject({ phase: "RolledBack", weight: 0, message: expect.stringMatching(/success rate/) });
    expect(quiet).toMatchObject({
      phase: "Progressing",
      weight: 50,
      message: expect.stringMatching(/^waiting: \d+ of 1000 canary requests/),
    });

    // Only bad's rollback to 0% changed what edges run: good was at 100% already, quiet waits.
    expect(await versionNow()).toBe(applied.version + 1);
    const [entry] = (await mesh.admin("/v1/history?limit=1")).json().entries;
    expect(entry).toMatchObject({
      version: applied.version + 1,
      by: "rollout/bad-canary",
      changes: [{ kind: "Rollout", name: "bad-canary", op: "weights" }],
    });
    expect(await versions("/good/x")).toEqual(new Set(["canary"]));
    expect(await versions("/bad/x")).toEqual(new Set(["stable"]));
  });

  it("pauses and resumes without a version, aborts as one by the operator, and refuses to act on a finished rollout", async () => {
    await mesh.apply(rollout("good", "[30, 60]", 1000));
    const v = await versionNow();
    expect((await mesh.admin("/v1/rollouts/good-canary/pause", { method: "POST" })).json()).toMatchObject({
      version: v,
      changes: [],
      status: { phase: "Paused" },
    });
    expect((await mesh.admin("/v1/rollouts/good-canary/resume", { method: "POST" })).json()).toMatchObject({
      version: v,
      status: { phase: "Progressing" },
    });
    const abort = await mesh.admin("/v1/rollouts/good-canary/abort", { method: "POST" });
    expect(abort.json()).toMatchObject({
      version: v + 1,
      republished: ["good-edge"],
      status: { phase: "RolledBack", weight: 0 },
    });
    expect((await mesh.admin(`/v1/history/${v + 1}`)).json()).toMatchObject({
      by: "admin",
      resources: [{ kind: "Rollout", before: { status: { weight: 30 } }, after: { status: { weight: 0 } } }],
    });
    expect((await mesh.admin("/v1/rollouts/good-canary/resume", { method: "POST" })).status).toBe(409);
  });
});

describe("a Rollout and an HTTPRoute on one service", () => {
  it("the rollout owns the split of the rule that sends to stable; apply warns naming both; explain names the rollout", async () => {
    const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: routed }
spec:
  parentRefs: [{ kind: Service, name: routed }]
  rules:
    - matches: [{ headers: [{ name: x-tester, value: "yes" }] }]
      backendRefs: [{ name: routed, version: pinned }]
    - backendRefs: [{ name: routed, version: stable }]
`;
    await mesh.apply(route);
    const applied = await mesh.apply(rollout("routed", "[50]", 1000));
    expect(applied.warnings).toContainEqual({
      resource: "HTTPRoute/routed",
      path: "spec.rules[1].backendRefs",
      message: expect.stringMatching(/^Rollout\/routed-canary owns the split between routed stable and canary/),
    });
    expect(applied.republished).toEqual(["routed-edge"]);
    expect(await versions("/routed/x")).toEqual(new Set(["stable", "canary"]));
    const tester = new Set(
      await Promise.all(
        Array.from(
          { length: 10 },
          async () => (await mesh.get("/routed/x", { headers: { "x-tester": "yes" } })).json().version,
        ),
      ),
    );
    expect(tester).toEqual(new Set(["pinned"]));

    const explained = (
      await mesh.admin("/v1/explain", { method: "POST", body: JSON.stringify({ path: "/routed/x" }) })
    ).json();
    const split = explained.hops[0].children[0].decisions.find((d: { stage: string }) => d.stage === "split");
    expect(split).toMatchObject({
      decision: "weighted: routed/stable 50%, routed/canary 50%, set by Rollout/routed-canary (canary at 50%)",
    });
    const real = await mesh.get("/routed/x", { headers: { "x-isomesh-debug": VIEWER_TOKEN } });
    const record = await eventually(
      async () => (await mesh.admin(`/v1/explain/${real.headers["x-isomesh-explain"]}`)).json(),
      (r) => r.hops?.[0]?.children?.length > 0,
    );
    expect(record.hops[0].children[0].decisions.find((d: { stage: string }) => d.stage === "split").decision).toMatch(
      /^picked routed\/(stable|canary), weights set by Rollout\/routed-canary \(canary at 50%\)$/,
    );
    const analyzed = (await mesh.admin("/v1/analyze", { method: "POST", body: "" })).json();
    expect(analyzed.warnings).toContainEqual(
      expect.objectContaining({
        resource: "HTTPRoute/routed",
        message: expect.stringMatching(/Rollout\/routed-canary/),
      }),
    );
  });
});

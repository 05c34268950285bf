import { describe, expect, it } from "vitest";
import { analyze } from "../../shared/analyze/index.ts";
import { explainSynthetic, SyntheticRequest } from "../../shared/explain/synthetic.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { RolloutSpec, type RolloutStatus } from "../../shared/resources/rollout.ts";
import { initialStatus } from "../../shared/rollout/decide.ts";
import { splitByRollout } from "../../shared/rollout/ownership.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import { docs, topologyOf } from "../helpers/config-store.ts";

// While a Rollout runs it owns the split between its stable and canary versions (DESIGN §2, as
// Flagger owns its VirtualService): a route on the same service no longer silently fights it.

const spec = RolloutSpec.parse({
  targetRef: { name: "reviews" },
  stable: "v1",
  canary: "v3",
  steps: [10, 50, 100],
  interval: "30s",
});
const at = (weight: number, phase: RolloutStatus["phase"] = "Progressing"): RolloutStatus => ({
  ...initialStatus(spec, 0),
  weight,
  phase,
});
const b = (version: string | undefined, weight: number): CompiledBackend => ({
  service: "reviews",
  ...(version ? { version } : {}),
  weight,
});
const shares = (list: CompiledBackend[] | undefined) =>
  list && Object.fromEntries(list.map((x) => [x.version ?? "*", x.weight / list.reduce((a, y) => a + y.weight, 0)]));

describe("a rule's split under a Rollout", () => {
  it.each([
    ["all to stable: the rollout shifts it", [b("v1", 1)], at(10), { v1: 0.9, v3: 0.1 }],
    [
      "stable and canary as written: the rollout's weights instead",
      [b("v1", 50), b("v3", 50)],
      at(10),
      { v1: 0.9, v3: 0.1 },
    ],
    ["other versions keep their share", [b("v1", 1), b("v2", 1)], at(50), { v1: 0.25, v3: 0.25, v2: 0.5 }],
    ["promoted: the stable's share goes to the canary", [b("v1", 1)], at(100, "Promoted"), { v1: 0, v3: 1 }],
    ["rolled back: all to stable", [b("v1", 1), b("v3", 1)], at(0, "RolledBack"), { v1: 1, v3: 0 }],
    ["the default split (version-less) is already the rollout's", [b(undefined, 1)], at(10), { "*": 1 }],
    ["a rule that pins a version other than stable is the user's", [b("v3", 1)], at(10), undefined],
    ["nor one that sends to another version only", [b("v2", 1)], at(10), undefined],
  ])("%s", (_n, backends, status, expected) => {
    expect(shares(splitByRollout(backends, spec, status))).toEqual(expected);
  });
});

const parsed = (yaml: string) =>
  validateDocuments(docs(yaml)).parsed.map((p, i) => ({
    resource: p.resource,
    createdAt: i,
    status: p.resource.kind === "Rollout" ? at(10) : undefined,
  }));
const topology = topologyOf({ reviews: ["v1", "v2", "v3"] });
const requestRouting = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: reviews, version: v2 }]
    - backendRefs: [{ name: reviews, version: v1 }]
`;
const canary = `apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: reviews-v3 }
spec: { targetRef: { kind: Service, name: reviews }, stable: v1, canary: v3, steps: [10, 50, 100], interval: 30s }
`;

describe("compiled snapshot: who decides the weights", () => {
  const snapshot = compileSnapshot(topology, "reviews-edge", parsed(`${requestRouting}---\n${canary}`), 4);
  const [jason, everyone] = snapshot.vhosts[0].routes;

  it("divides the rule that sends to stable by the rollout, and says so", () => {
    expect(shares(everyone.backends)).toEqual({ v1: 0.9, v3: 0.1 });
    expect(everyone.weightsFrom).toBe("Rollout/reviews-v3 (v3 at 10%)");
  });

  it("leaves a rule that pins another version as written", () => {
    expect(jason.backends).toEqual([b("v2", 1)]);
    expect(jason.weightsFrom).toBeUndefined();
  });

  it("names the rollout for the default split, without status words (a pause changes nothing edges run)", () => {
    const paused = compileSnapshot(
      topology,
      "reviews-edge",
      parsed(canary).map((p) => ({ ...p, status: { ...at(10), phase: "Paused" as const } })),
      4,
    );
    expect(paused.defaultSource).toBe("Rollout/reviews-v3 (v3 at 10%)");
    expect(compileSnapshot(topology, "reviews-edge", parsed(canary), 4)).toEqual(paused);
  });

  it("explain names the Rollout when it decides the weights", () => {
    const hops = explainSynthetic(
      SyntheticRequest.parse({ service: "reviews", caller: "productpage", path: "/" }),
      () => snapshot,
    );
    expect(hops[0].decisions.find((d) => d.stage === "split")).toMatchObject({
      decision: "weighted: reviews/v1 90%, reviews/v3 10%, set by Rollout/reviews-v3 (v3 at 10%)",
      weightsFrom: "Rollout/reviews-v3 (v3 at 10%)",
    });
  });
});

describe("analyze: a route and a Rollout on one service", () => {
  const warnings = (yaml: string) =>
    analyze(
      topology,
      validateDocuments(docs(yaml)).parsed.map((p) => p.resource),
    ).warnings.filter((w) => /Rollout/.test(w.resource + w.message));

  it("warns on each rule whose split the rollout takes over, naming both", () => {
    expect(warnings(`${requestRouting}---\n${canary}`)).toEqual([
      {
        resource: "HTTPRoute/reviews",
        path: "spec.rules[1].backendRefs",
        message: expect.stringMatching(/^Rollout\/reviews-v3 owns the split between reviews v1 and v3/),
      },
    ]);
  });

  it("warns when the service's routes never send to the stable version: the rollout has nothing to shift", () => {
    const pinned = requestRouting.replace("version: v1 }]\n", "version: v2 }]\n");
    expect(warnings(`${pinned}---\n${canary}`)).toEqual([
      {
        resource: "Rollout/reviews-v3",
        path: "spec.stable",
        message: expect.stringMatching(/no rule of HTTPRoute\/reviews sends reviews traffic to v1/),
      },
    ]);
  });

  it("warns about a second Rollout of the same service", () => {
    expect(
      warnings(
        `${canary}---\n${canary.replace("name: reviews-v3 }", "name: reviews-v2 }").replace("canary: v3", "canary: v2")}`,
      ),
    ).toEqual([
      {
        resource: "Rollout/reviews-v2",
        path: "spec.targetRef",
        message: "service reviews is also targeted by Rollout/reviews-v3; only the oldest Rollout of a service applies",
      },
    ]);
  });

  it("says nothing when the rollout alone owns the service", () => {
    expect(warnings(canary)).toEqual([]);
  });
});

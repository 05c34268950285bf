import { describe, expect, it } from "vitest";
import { alignKeys, sameDocument, unifiedDiff } from "../../shared/resources/yaml-diff.ts";

const route = (weights: [number, number]) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "reviews" },
  spec: {
    parentRefs: [{ kind: "Service", name: "reviews" }],
    rules: [
      {
        backendRefs: [
          { name: "reviews", version: "v1", weight: weights[0] },
          { name: "reviews", version: "v3", weight: weights[1] },
        ],
      },
    ],
  },
});
const text = (lines: { text: string }[]) => lines.map((l) => l.text).join("\n");

describe("unified diff of resources (kubectl diff style)", () => {
  it("shows changed values as -/+ YAML lines with context", () => {
    const lines = unifiedDiff("HTTPRoute/reviews", route([100, 0]), route([50, 50]), { from: "live", to: "file" });
    expect(text(lines)).toBe(`diff -u -N live/HTTPRoute/reviews file/HTTPRoute/reviews
--- live/HTTPRoute/reviews
+++ file/HTTPRoute/reviews
@@ -10,7 +10,7 @@
     - backendRefs:
         - name: reviews
           version: v1
-          weight: 100
+          weight: 50
         - name: reviews
           version: v3
-          weight: 0
+          weight: 50`);
    expect(lines.filter((l) => l.kind === "removed").map((l) => l.text)).toEqual([
      "-          weight: 100",
      "-          weight: 0",
    ]);
  });

  it("is empty when only key order or status differ", () => {
    const reordered = {
      spec: route([1, 1]).spec,
      metadata: { name: "reviews" },
      kind: "HTTPRoute",
      apiVersion: "gateway.networking.k8s.io/v1",
      status: { phase: "x" },
    };
    expect(sameDocument(reordered, { ...route([1, 1]), status: { phase: "x" } })).toBe(true);
    expect(unifiedDiff("HTTPRoute/reviews", reordered, route([1, 1]), { from: "a", to: "b" })).toEqual([]);
  });

  it("diffs against the new document's key order, so a reordered file shows only real changes", () => {
    const live = {
      kind: "HTTPRoute",
      apiVersion: "gateway.networking.k8s.io/v1",
      metadata: { name: "reviews" },
      spec: { rules: route([100, 0]).spec.rules, parentRefs: route([0, 0]).spec.parentRefs },
    };
    const lines = unifiedDiff("HTTPRoute/reviews", live, route([90, 10]), { from: "live", to: "file" });
    expect(
      lines.filter((l) => l.kind === "removed" || l.kind === "added").map((l) => l.text.replace(/ +/g, " ")),
    ).toEqual(["- weight: 100", "+ weight: 90", "- weight: 0", "+ weight: 10"]);
    expect(Object.keys(alignKeys(live, route([0, 0])))).toEqual(["apiVersion", "kind", "metadata", "spec"]);
  });

  it("an added resource is all + lines from /dev/null, a removed one all - lines", () => {
    const added = unifiedDiff("HTTPRoute/reviews", null, route([1, 0]), { from: "live", to: "file" });
    expect(added[1].text).toBe("--- /dev/null");
    expect(added[3].text).toMatch(/^@@ -0,0 \+1,\d+ @@$/);
    expect(added.slice(4).every((l) => l.kind === "added")).toBe(true);
    const removed = unifiedDiff("HTTPRoute/reviews", route([1, 0]), null, { from: "v1", to: "v2" });
    expect(removed[2].text).toBe("+++ /dev/null");
    expect(removed.slice(4).every((l) => l.kind === "removed")).toBe(true);
  });
});

describe("history diffs keep status", () => {
  it("shows a Rollout's progress when asked (history), and leaves it out otherwise (diff of a file)", () => {
    const rollout = (weight: number) => ({
      apiVersion: "isomesh.dev/v1",
      kind: "Rollout",
      metadata: { name: "r" },
      spec: { stable: "v1" },
      status: { phase: "Progressing", weight },
    });
    expect(unifiedDiff("Rollout/r", rollout(10), rollout(50), { from: "a", to: "b" })).toEqual([]);
    const lines = unifiedDiff("Rollout/r", rollout(10), rollout(50), { from: "v6", to: "v7" }, { withStatus: true });
    expect(lines.filter((l) => l.kind === "removed" || l.kind === "added").map((l) => l.text)).toEqual([
      "-  weight: 10",
      "+  weight: 50",
    ]);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyzeLocally } from "../../scripts/cli/commands/analyze.ts";

const route = (rules: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: catalog }
spec:
  parentRefs: [{ kind: Service, name: catalog }]
  rules:
${rules}`;

describe("analyze: rules that shadow each other", () => {
  it("says nothing of the shop's catalog-rpc task: an RPC match is not the catch-all's match", () => {
    // The file changes the shop's default HTTPRoute/catalog: analyzed as applying it would leave the config.
    const text = readFileSync("examples/shop/tasks/catalog-rpc.yaml", "utf8");
    const { errors, warnings } = analyzeLocally("examples/shop/mesh.yaml", text);
    expect(errors).toEqual([]);
    expect(warnings.filter((w) => /same match/.test(w.message))).toEqual([]);
  });

  it("warns on two rules with the same RPC match, naming them by their index in the YAML", () => {
    const text = route(`    - matches: [{ rpc: { method: getProduct } }]
      backendRefs: [{ name: catalog, version: v2 }]
    - matches: [{ rpc: { method: getProduct } }]
      backendRefs: [{ name: catalog, version: v1 }]
`);
    const { warnings } = analyzeLocally("examples/shop/mesh.yaml", text);
    expect(warnings.filter((w) => /same match/.test(w.message))).toEqual([
      {
        resource: "HTTPRoute/catalog",
        path: "spec.rules[1].matches[0]",
        message: "same match as HTTPRoute/catalog rule 0 on Service/catalog: only one of them can ever be selected",
      },
    ]);
  });
});

import type { Topology } from "../../shared/manifest/topology.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import type { StoredResource } from "../../shared/snapshot/compile.ts";

/**
 * A synthetic mesh of `n` services (each with two versions, calling the next one), a gateway route
 * per service, a GAMMA canary route per service and a TrafficPolicy per service: the shape of a
 * real mesh, at any size, for scaling tests and benchmarks.
 */
export function syntheticMesh(n: number): { topology: Topology; resources: StoredResource[]; docs: object[] } {
  const name = (i: number) => `svc-${String(i).padStart(5, "0")}`;
  const topology: Topology = {
    mesh: "synthetic",
    services: Array.from({ length: n }, (_, i) => ({
      name: name(i),
      versions: ["v1", "v2"],
      calls: i + 1 < n ? [name(i + 1)] : [],
    })),
  };
  const docs: object[] = [];
  for (let i = 0; i < n; i++) {
    const s = name(i);
    docs.push(
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: `gw-${s}` },
        spec: {
          parentRefs: [{ name: "gateway" }],
          hostnames: [`${s}.example.com`],
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              backendRefs: [{ name: s }],
              timeouts: { request: "5s" },
              retry: { codes: [503], attempts: 2 },
            },
          ],
        },
      },
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: s },
        spec: {
          parentRefs: [{ kind: "Service", name: s }],
          rules: [
            {
              matches: [{ headers: [{ name: "end-user", value: "jason" }] }],
              backendRefs: [{ name: s, version: "v2" }],
            },
            {
              backendRefs: [
                { name: s, version: "v1", weight: 90 },
                { name: s, version: "v2", weight: 10 },
              ],
            },
          ],
        },
      },
      {
        apiVersion: "isomesh.dev/v1",
        kind: "TrafficPolicy",
        metadata: { name: s },
        spec: {
          targetRefs: [{ kind: "Service", name: s }],
          outlierDetection: { consecutiveErrors: 5 },
          rateLimits: [{ requests: 100, per: "1s", key: { header: "x-user" } }],
        },
      },
    );
  }
  const { parsed, errors } = validateDocuments(docs);
  if (errors.length) throw new Error(`synthetic mesh is invalid: ${JSON.stringify(errors[0])}`);
  return { topology, resources: parsed.map((p, i) => ({ resource: p.resource, createdAt: i })), docs };
}

import { describe, expect, it } from "vitest";
import { SNAPSHOT_SCHEMA, type Snapshot } from "../../shared/snapshot/schema.ts";
import { DEFAULT_MESH_CONFIG } from "../../shared/manifest/mesh-config.ts";
import type { EdgeEnv } from "../../workers/dataplane/env.ts";
import { fetchExchange } from "../../workers/dataplane/request.ts";
import { upstreamFor } from "../../workers/dataplane/upstream.ts";
import { externalTarget } from "../../workers/edge/external.ts";

// The egress edge's last step, with a fake mtls_certificates binding: which fetcher a call goes
// through, and what leaves the mesh with it.

const snapshot: Snapshot = {
  schema: SNAPSHOT_SCHEMA,
  mesh: "m",
  edge: "egress",
  role: "egress",
  version: 1,
  backends: ["partner", "public"],
  vhosts: [],
  defaultBackends: [],
  externals: [
    {
      name: "partner",
      hosts: ["api.partner.example"],
      ports: [{ number: 443, protocol: "HTTPS" }],
      clientCertificate: "PARTNER_CERT",
    },
    { name: "public", hosts: ["api.public.example"], ports: [{ number: 443, protocol: "HTTPS" }] },
  ],
  meshConfig: DEFAULT_MESH_CONFIG,
};

function fakeCertificate() {
  const calls: Request[] = [];
  return {
    calls,
    fetch: async (url: string, init: RequestInit) => (
      calls.push(new Request(url, init)),
      new Response("ok", { headers: { "x-isomesh-backend": "forged" } })
    ),
  };
}

const exchange = (url: string, headers: Record<string, string>, snap = snapshot) =>
  fetchExchange(new Request(url, { headers }), {} as ExecutionContext, { caller: "shop" }, snap);

/** The egress edge's upstream, reaching external hosts as the edge host does (workers/edge/external.ts). */
const egressUpstream = (env: Record<string, unknown>) =>
  upstreamFor(snapshot, (b, s) => externalTarget(env as EdgeEnv, s, b));
const NO_BODY = { replayable: true, unchanged: true, take: () => null };

describe("egress upstream", () => {
  it("sends through the ExternalService's certificate binding, without mesh headers, keeping trace context", async () => {
    const cert = fakeCertificate();
    const send = egressUpstream({ PARTNER_CERT: cert });
    const x = exchange("https://api.partner.example/v1/orders", {
      host: "elsewhere.example",
      "x-isomesh-principal": "https://login/ann",
      "x-isomesh-deadline-ms": "500",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "isomesh=explain,vendor=1",
      "x-app": "kept",
    });
    const res = await send.fetch(x, { service: "partner", weight: 1 }, NO_BODY, new AbortController().signal);
    expect(res.headers.has("x-isomesh-backend")).toBe(false);
    const sent = cert.calls[0];
    expect(sent.url).toBe("https://api.partner.example/v1/orders");
    expect([...sent.headers.keys()].filter((h) => h.startsWith("x-isomesh-"))).toEqual([]);
    expect(sent.headers.get("host")).toBeNull();
    expect(sent.headers.get("x-app")).toBe("kept");
    expect(sent.headers.get("tracestate")).toBe("vendor=1");
    expect(sent.headers.get("traceparent")).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(x.host).toBe("api.partner.example");
  });

  it("refuses to call without the certificate it was told to present", async () => {
    const send = egressUpstream({});
    const x = exchange("https://api.partner.example/", {});
    await expect(
      send.fetch(x, { service: "partner", weight: 1 }, NO_BODY, new AbortController().signal),
    ).rejects.toThrow(/no mtls_certificates binding PARTNER_CERT/);
  });
});

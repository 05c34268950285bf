import { describe, expect, it } from "vitest";
import { SNAPSHOT_SCHEMA, type Snapshot } from "../../shared/snapshot/schema.ts";
import { DEFAULT_MESH_CONFIG } from "../../shared/manifest/mesh-config.ts";
import { createExchange } from "../../workers/dataplane/inbound.ts";
import type { EdgeEnv } from "../../workers/dataplane/env.ts";
import { upstreamFor } from "../../workers/dataplane/upstream.ts";

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
  createExchange(new Request(url, { headers }), {} as ExecutionContext, { caller: "shop" }, snap);

describe("egress upstream", () => {
  it("sends through the ExternalService's certificate binding, without mesh headers, keeping trace context", async () => {
    const cert = fakeCertificate();
    const send = upstreamFor(snapshot, { PARTNER_CERT: cert } as unknown as EdgeEnv);
    const x = exchange("https://api.partner.example/v1/orders", {
      host: "elsewhere.example",
      "x-isomesh-principal": "https://login/ann",
      "x-isomesh-deadline-ms": "500",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "isomesh=explain,vendor=1",
      "x-app": "kept",
    });
    const res = await send(x, { service: "partner", weight: 1 }, null, new AbortController().signal);
    expect(res.headers.has("x-isomesh-backend")).toBe(false);
    const sent = cert.calls[0];
    expect(sent.url).toBe("https://api.partner.example/v1/orders");
    expect([...sent.headers.keys()].filter((h) => h.startsWith("x-isomesh-"))).toEqual([]);
    expect(sent.headers.get("host")).toBeNull();
    expect(sent.headers.get("x-app")).toBe("kept");
    expect(sent.headers.get("tracestate")).toBe("vendor=1");
    expect(sent.headers.get("traceparent")).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(x.facts.host).toBe("api.partner.example");
  });

  it("refuses to call without the certificate it was told to present", async () => {
    const send = upstreamFor(snapshot, {} as EdgeEnv);
    const x = exchange("https://api.partner.example/", {});
    expect(() => send(x, { service: "partner", weight: 1 }, null, new AbortController().signal)).toThrow(
      /no mtls_certificates binding PARTNER_CERT/,
    );
  });
});

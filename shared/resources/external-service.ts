import { z } from "zod";
import { Hostname, RouteRetry, RouteTimeouts } from "./http-route.ts";
import { envelope } from "./metadata.ts";

// ExternalService (isomesh.dev/v1): a host outside the mesh that apps may call through the egress
// edge, like Istio's ServiceEntry (MESH_EXTERNAL) with its DestinationRule's timeouts and TLS.

export const ExternalPort = z.strictObject({
  number: z.number().int().min(1).max(65535),
  protocol: z.enum(["HTTP", "HTTPS"]),
  name: z.string().max(63).optional(),
});

export const ExternalServiceSpec = z
  .strictObject({
    /** Exact DNS names or `*.suffix` wildcards; the request URL's host must be one of them. */
    hosts: z.array(Hostname).min(1, "an ExternalService needs at least one host").max(32),
    /** Ports (and the scheme each speaks) apps may use; HTTPS on 443 unless listed. */
    ports: z
      .array(ExternalPort)
      .min(1)
      .max(16)
      .default([{ number: 443, protocol: "HTTPS" }]),
    timeouts: RouteTimeouts.optional(),
    retry: RouteRetry.optional(),
    /** Client certificate for mutual TLS: a `mtls_certificates` binding declared in the manifest's `egress`. */
    tls: z.strictObject({ clientCertificate: z.string().min(1) }).optional(),
  })
  .superRefine((s, ctx) => {
    s.ports.forEach((p, i) => {
      if (s.ports.findIndex((q) => q.number === p.number) !== i)
        ctx.addIssue({ code: "custom", path: ["ports", i, "number"], message: `port ${p.number} is listed twice` });
    });
    if (s.tls && s.ports.every((p) => p.protocol !== "HTTPS"))
      ctx.addIssue({ code: "custom", path: ["tls"], message: "a client certificate needs an HTTPS port" });
  });

export const ExternalService = envelope("isomesh.dev/v1", "ExternalService", ExternalServiceSpec);
export type ExternalService = z.infer<typeof ExternalService>;

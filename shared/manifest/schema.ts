import { z } from "zod";
import { AdminOidc } from "../security/admin-oidc.ts";
import { MeshConfigSpec } from "./mesh-config.ts";

const Name = z
  .string()
  .regex(/^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/, "must be lower-case letters, digits and '-', starting with a letter");

const Vars = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** A misbehaving built-in echo version (demos, resilience tests). */
const EchoOptions = z.strictObject({
  status: z.number().int().min(100).max(599).optional(),
  failRate: z.number().min(0).max(1).optional(),
  delayMs: z.number().int().min(0).max(60_000).optional(),
});

export const VersionSpec = z
  .strictObject({
    name: Name,
    /** Path (from the manifest's folder or the repo) to the app's worker folder or entry file. */
    worker: z.string().min(1).optional(),
    echo: z.union([z.literal(true), EchoOptions]).optional(),
    vars: Vars.default({}),
  })
  .refine((v) => (v.worker === undefined) !== (v.echo === undefined), {
    message: "a version needs exactly one of `worker` or `echo`",
  });

export const ServiceSpec = z.strictObject({
  name: Name,
  versions: z.array(VersionSpec).min(1, "a service needs at least one version"),
  /** Services this service's apps call east-west: each becomes a binding with props { caller }. */
  calls: z.array(Name).default([]),
  /** Whether this service's apps may call ExternalServices: they get env.EGRESS (props { caller }). */
  egress: z.boolean().default(false),
});

const BindingName = z.string().regex(/^[A-Z][A-Z0-9_]{0,62}$/, "binding names are upper-case letters, digits and '_'");

/** Deploy-time settings of the egress edge: client certificates it may present (wrangler `mtls_certificates`). */
export const EgressSpec = z.strictObject({
  mtlsCertificates: z
    .array(z.strictObject({ binding: BindingName, certificateId: z.string().min(1) }))
    .max(16)
    .default([]),
});

export const Manifest = z
  .strictObject({
    name: Name,
    services: z.array(ServiceSpec).min(1),
    /** Resource files applied on first start of an empty store and baked into bootstrap snapshots. */
    defaults: z.array(z.string()).default([]),
    egress: EgressSpec.optional(),
    /** Admin API access beyond tokens: OIDC/JWT from the organisation's identity provider. */
    admin: z.strictObject({ oidc: AdminOidc.optional() }).optional(),
    /** Mesh-wide data-plane settings: path normalization, the default request timeout (mesh-config.ts). */
    meshConfig: MeshConfigSpec,
    /** Compatibility date for every generated worker. */
    compatibilityDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).default("2025-04-01"),
  })
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    m.services.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `duplicate service "${s.name}"` });
      if (s.name === "gateway" || s.name === "control" || s.name === "egress") ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `"${s.name}" is reserved` });
      names.add(s.name);
      const versions = new Set<string>();
      s.versions.forEach((v, j) => {
        if (versions.has(v.name)) ctx.addIssue({ code: "custom", path: ["services", i, "versions", j, "name"], message: `duplicate version "${v.name}"` });
        versions.add(v.name);
      });
    });
    m.services.forEach((s, i) =>
      s.calls.forEach((c, j) => {
        if (!names.has(c)) ctx.addIssue({ code: "custom", path: ["services", i, "calls", j], message: `unknown service "${c}"` });
      }),
    );
    const bindings = m.egress?.mtlsCertificates.map((c) => c.binding) ?? [];
    bindings.forEach((b, i) => {
      if (bindings.indexOf(b) !== i) ctx.addIssue({ code: "custom", path: ["egress", "mtlsCertificates", i, "binding"], message: `duplicate binding "${b}"` });
      if (b === "CONTROL" || b === "SNAPSHOTS" || b === "RATE_LIMITER") ctx.addIssue({ code: "custom", path: ["egress", "mtlsCertificates", i, "binding"], message: `"${b}" is reserved` });
    });
  });

export type Manifest = z.infer<typeof Manifest>;
export type ServiceSpec = z.infer<typeof ServiceSpec>;
export type VersionSpec = z.infer<typeof VersionSpec>;

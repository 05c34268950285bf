import { z } from "zod";
import { AdminOidc } from "../security/admin-oidc.ts";
import {
  CONTROL,
  edgeName,
  EGRESS,
  EGRESS_BINDING,
  GATEWAY,
  meshWorkerName,
  serviceBinding,
  versionWorkerName,
} from "../names.ts";
import { MeshConfigSpec } from "./mesh-config.ts";
import { DataPlane } from "./data-plane.ts";
import { DEFAULT_ENTRYPOINT, IDENTIFIER, MAX_METHOD_NAME } from "../rpc/method.ts";

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

/** A Worker's name on the account (Cloudflare: lower-case letters, digits, '-'; at most 63 characters). */
const WorkerName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "a Worker name is lower-case letters, digits and '-', at most 63 characters",
  );

export const VersionSpec = z
  .strictObject({
    name: Name,
    /**
     * The app: a Workers project folder (holding its wrangler.json, wrangler.jsonc or wrangler.toml),
     * that config file, or a bare entry file; relative to the manifest (then the repo).
     */
    worker: z.string().min(1).optional(),
    /** A Worker already deployed by the team's own pipeline (brownfield): the edge binds it by this name. */
    deployed: WorkerName.optional(),
    echo: z.union([z.literal(true), EchoOptions]).optional(),
    /** Layered over the app's own vars, as `wrangler deploy --var` would. */
    vars: Vars.default({}),
  })
  .superRefine((v, ctx) => {
    if (
      v.echo !== undefined
        ? v.worker !== undefined || v.deployed !== undefined
        : v.worker === undefined && v.deployed === undefined
    )
      ctx.addIssue({
        code: "custom",
        message:
          "a version needs exactly one of `worker` or `echo` (or `deployed`: a Worker your own pipeline deploys)",
      });
    if (v.deployed !== undefined && Object.keys(v.vars).length)
      ctx.addIssue({
        code: "custom",
        path: ["vars"],
        message: "a deployed Worker keeps the vars of its own config: set them there",
      });
  });

/** A public route of the gateway, in wrangler's `routes` shape. */
const Route = z.union([
  z.string().min(1),
  z.strictObject({
    pattern: z.string().min(1),
    custom_domain: z.boolean(),
    enabled: z.boolean().optional(),
    previews_enabled: z.boolean().optional(),
  }),
  z.strictObject({ pattern: z.string().min(1), zone_id: z.string().min(1), custom_domain: z.boolean().optional() }),
  z.strictObject({ pattern: z.string().min(1), zone_name: z.string().min(1), custom_domain: z.boolean().optional() }),
]);

/** Deploy-time settings of the ingress gateway: where it is public. */
export const GatewaySpec = z.strictObject({
  /** Routes or custom domains (wrangler `routes`), so the gateway serves a zone, not only workers.dev. */
  routes: z.array(Route).max(100).default([]),
  /** Also serve on workers.dev (wrangler `workers_dev`); wrangler's default when unset. */
  workersDev: z.boolean().optional(),
});

const BindingName = z.string().regex(/^[A-Z][A-Z0-9_]{0,62}$/, "binding names are upper-case letters, digits and '_'");

/**
 * One east-west binding in long form: a named entrypoint of the callee (wrangler's `entrypoint:`,
 * for Workers RPC to `export class Admin extends WorkerEntrypoint`) and/or a binding name of the
 * app's choosing. The short form `ratings` is `{ service: ratings }`: binding RATINGS, default entrypoint.
 */
export const CallSpec = z.strictObject({
  service: Name,
  entrypoint: z
    .string()
    .regex(IDENTIFIER, "an entrypoint is the name of a class the callee exports (a JS identifier)")
    .max(MAX_METHOD_NAME)
    .optional(),
  /** Default: the service's binding (RATINGS), with the entrypoint's name for a named one (RATINGS_ADMIN). */
  binding: BindingName.optional(),
});

export const ServiceSpec = z.strictObject({
  name: Name,
  versions: z.array(VersionSpec).min(1, "a service needs at least one version"),
  /** Services this service's apps call east-west: each becomes a binding with props { caller } (see CallSpec). */
  calls: z.array(z.union([Name, CallSpec])).default([]),
  /** Whether this service's apps may call ExternalServices: they get env.EGRESS (props { caller }). */
  egress: z.boolean().default(false),
  /** Where this service's mesh stages run; unset: the mesh's `dataPlane` (data-plane.ts). */
  dataPlane: DataPlane.optional(),
});

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
    gateway: GatewaySpec.optional(),
    egress: EgressSpec.optional(),
    /** Admin API access beyond tokens: OIDC/JWT from the organisation's identity provider. */
    admin: z.strictObject({ oidc: AdminOidc.optional() }).optional(),
    /** Mesh-wide data-plane settings: path normalization, the default request timeout (mesh-config.ts). */
    meshConfig: MeshConfigSpec,
    /** Where the mesh's stages run for services that do not say: `edge` (a Worker per service) or `inline` (in the apps). */
    dataPlane: DataPlane.default("edge"),
    /** Compatibility date for every generated worker. */
    compatibilityDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .default("2025-04-01"),
  })
  .superRefine((m, ctx) => {
    checkWorkerNames(m, ctx);
    const names = new Set<string>();
    m.services.forEach((s, i) => {
      if (names.has(s.name))
        ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `duplicate service "${s.name}"` });
      if (s.name === "gateway" || s.name === "control" || s.name === "egress")
        ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `"${s.name}" is reserved` });
      names.add(s.name);
      const versions = new Set<string>();
      s.versions.forEach((v, j) => {
        if (versions.has(v.name))
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "versions", j, "name"],
            message: `duplicate version "${v.name}"`,
          });
        versions.add(v.name);
      });
    });
    m.services.forEach((s, i) => {
      const bindings = new Map<string, number>();
      callBindings(s).forEach((c, j) => {
        const path =
          typeof s.calls[j] === "string" ? ["services", i, "calls", j] : ["services", i, "calls", j, "service"];
        if (!names.has(c.service)) ctx.addIssue({ code: "custom", path, message: `unknown service "${c.service}"` });
        const other = bindings.get(c.binding);
        if (other !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "calls", j],
            message: `binding ${c.binding} is also calls[${other}]'s: give one a \`binding:\``,
          });
        bindings.set(c.binding, j);
      });
    });
    m.services.forEach((s, i) =>
      s.versions.forEach((v, j) => {
        for (const [name, owner] of meshOwnedNames(s, v.name))
          if (name in v.vars && (owner.value === undefined || v.vars[name] !== owner.value))
            ctx.addIssue({
              code: "custom",
              path: ["services", i, "versions", j, "vars", name],
              message: `"${name}" is the mesh's ${owner.what}`,
            });
      }),
    );
    checkExtensionProviders(m, names, ctx);
    const bindings = m.egress?.mtlsCertificates.map((c) => c.binding) ?? [];
    bindings.forEach((b, i) => {
      if (bindings.indexOf(b) !== i)
        ctx.addIssue({
          code: "custom",
          path: ["egress", "mtlsCertificates", i, "binding"],
          message: `duplicate binding "${b}"`,
        });
      if (b === "CONTROL" || b === "SNAPSHOTS" || b === "RATE_LIMITER")
        ctx.addIssue({
          code: "custom",
          path: ["egress", "mtlsCertificates", i, "binding"],
          message: `"${b}" is reserved`,
        });
    });
  });

/** Each extension provider names a service of the mesh, once. */
function checkExtensionProviders(m: { meshConfig: MeshConfigSpec }, services: Set<string>, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  m.meshConfig.extensionProviders.forEach((p, i) => {
    const path = ["meshConfig", "extensionProviders", i];
    if (seen.has(p.name))
      ctx.addIssue({ code: "custom", path: [...path, "name"], message: `duplicate provider "${p.name}"` });
    seen.add(p.name);
    if (!services.has(p.envoyExtAuthzHttp.service))
      ctx.addIssue({
        code: "custom",
        path: [...path, "envoyExtAuthzHttp", "service"],
        message: `unknown service "${p.envoyExtAuthzHttp.service}": a provider is a service of this mesh`,
      });
  });
}

/**
 * The names the mesh itself puts in an app version's env: a binding per `calls` entry, EGRESS, and
 * the SERVICE and VERSION vars. An app binding or var of the same name is a manifest error.
 */
export function meshOwnedNames(
  s: { name: string; calls: ServiceSpec["calls"]; egress: boolean },
  version: string,
): Map<string, { what: string; value?: string }> {
  const owned = new Map<string, { what: string; value?: string }>([
    ["SERVICE", { what: "var SERVICE (the service's name)", value: s.name }],
    ["VERSION", { what: "var VERSION (the version's name)", value: version }],
  ]);
  callBindings({ calls: s.calls }).forEach((c, i) =>
    owned.set(c.binding, { what: `binding for calls[${i}] "${c.service}${c.entrypoint ? `.${c.entrypoint}` : ""}"` }),
  );
  if (s.egress) owned.set(EGRESS_BINDING, { what: "binding EGRESS (egress: true)" });
  return owned;
}

/** A service's east-west bindings, short forms expanded: which callee, which of its entrypoints, under what name. */
export type CallBinding = { service: string; entrypoint?: string; binding: string };

/**
 * The calls each version's app already makes through its own service bindings (adoption.ts), by
 * version; set on a service once its versions' projects are read (`isomesh gen`), never by users.
 */
export type AdoptedCalls = Record<string, CallBinding[]>;
type Calling = { calls: ServiceSpec["calls"]; adopted?: AdoptedCalls };

/**
 * A service's east-west bindings: its `calls`, then the bindings its apps already had to meshed
 * Workers (adopted): those of one version, or, without one, of every version (each binding once).
 */
export function callBindings(s: Calling, version?: string): CallBinding[] {
  const declared = s.calls.map((c) => {
    const call = typeof c === "string" ? { service: c } : c;
    const entrypoint = call.entrypoint === DEFAULT_ENTRYPOINT ? undefined : call.entrypoint;
    const binding =
      call.binding ??
      (entrypoint ? `${serviceBinding(call.service)}_${serviceBinding(entrypoint)}` : serviceBinding(call.service));
    return { service: call.service, ...(entrypoint ? { entrypoint } : {}), binding };
  });
  const adopted = version !== undefined ? (s.adopted?.[version] ?? []) : Object.values(s.adopted ?? {}).flat();
  const seen = new Set(declared.map(callKey));
  for (const c of adopted) {
    if (seen.has(callKey(c))) continue;
    seen.add(callKey(c));
    declared.push(c);
  }
  return declared;
}
const callKey = (c: CallBinding) => `${c.binding}\0${c.service}\0${c.entrypoint ?? ""}`;

/** The services a service calls (each once), whatever entrypoints it binds, declared or adopted. */
export const calledServices = (s: Calling) => [...new Set(callBindings(s).map((c) => c.service))];

/** Generated Worker names are prefixed by the mesh, unique, and within Cloudflare's 63 characters. */
function checkWorkerNames(
  m: { name: string; services: { name: string; versions: { name: string; deployed?: string }[] }[] },
  ctx: z.RefinementCtx,
) {
  const seen = new Map<string, string>();
  const claim = (worker: string, what: string, path: (string | number)[]) => {
    if (worker.length > 63)
      ctx.addIssue({
        code: "custom",
        path,
        message: `the Worker name "${worker}" is ${worker.length} characters (Cloudflare allows 63): shorten the mesh or service name`,
      });
    const other = seen.get(worker);
    if (other)
      ctx.addIssue({
        code: "custom",
        path,
        message: `the Worker name "${worker}" of ${what} is also that of ${other}`,
      });
    seen.set(worker, what);
  };
  for (const w of [GATEWAY, CONTROL, EGRESS]) seen.set(meshWorkerName(m.name, w), `the mesh's ${w}`);
  m.services.forEach((s, i) => {
    claim(meshWorkerName(m.name, edgeName(s.name)), `${s.name}'s edge`, ["services", i, "name"]);
    s.versions.forEach((v, j) => {
      if (v.deployed === undefined)
        claim(meshWorkerName(m.name, versionWorkerName(s.name, v.name)), `${s.name}/${v.name}`, [
          "services",
          i,
          "versions",
          j,
          "name",
        ]);
      else claim(v.deployed, `${s.name}/${v.name}`, ["services", i, "versions", j, "deployed"]);
    });
  });
}

export type Manifest = z.infer<typeof Manifest>;
export type ServiceSpec = z.infer<typeof ServiceSpec>;
export type VersionSpec = z.infer<typeof VersionSpec>;

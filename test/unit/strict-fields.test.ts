import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import type { z } from "zod";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { KINDS } from "../../shared/resources/index.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { pruneStoredDocument } from "../../shared/resources/stored.ts";
import { closestName } from "../../shared/resources/unknown-fields.ts";
import { loadDefaults } from "../../scripts/lib/gen.ts";

afterAll(removeTempDirs);

// Unknown fields are errors at every depth of every kind, as kubectl's strict field validation,
// with a did-you-mean drawn from the schema's own keys at that path.

const API = { HTTPRoute: "gateway.networking.k8s.io/v1" } as Record<string, string>;
const doc = (
  kind: string,
  spec: unknown,
  metadata: Record<string, unknown> = { name: "x" },
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: API[kind] ?? "isomesh.dev/v1",
  kind,
  metadata,
  spec,
  ...extra,
});
const errorsOf = (d: unknown) => validateDocuments([d]).errors.map((e) => ({ path: e.path, message: e.message }));

const route = (rule: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
  doc("HTTPRoute", { parentRefs: [{ name: "gateway" }], rules: [rule], ...spec });
const policy = (spec: Record<string, unknown>) => doc("TrafficPolicy", { targetRefs: [{ name: "ratings" }], ...spec });
const JWKS = JSON.stringify({
  keys: [
    {
      kty: "EC",
      crv: "P-256",
      x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    },
  ],
});
const authn = (rule: Record<string, unknown>) =>
  doc("RequestAuthentication", {
    targetRefs: [{ name: "ratings" }],
    jwtRules: [{ issuer: "https://id.example", jwks: JWKS, ...rule }],
  });
const authz = (rule: Record<string, unknown>) =>
  doc("AuthorizationPolicy", { targetRefs: [{ name: "ratings" }], rules: [rule] });
const rollout = (spec: Record<string, unknown>) =>
  doc("Rollout", {
    targetRef: { name: "reviews" },
    stable: "v1",
    canary: "v3",
    steps: [10, 50],
    interval: "30s",
    ...spec,
  });
const external = (spec: Record<string, unknown>) => doc("ExternalService", { hosts: ["api.example.com"], ...spec });

describe("unknown fields", () => {
  it.each([
    // HTTPRoute: the issue's own example (singular backendRef turned traffic into 500s).
    [
      "rule backendRef",
      route({ backendRef: [{ name: "web" }] }),
      "spec.rules[0].backendRef",
      "unknown field `backendRef` (did you mean `backendRefs`?)",
    ],
    [
      "spec hostname",
      route({}, { hostname: ["a.example"] }),
      "spec.hostname",
      "unknown field `hostname` (did you mean `hostnames`?)",
    ],
    [
      "header match (a union)",
      route({ matches: [{ headers: [{ name: "x", value: "y", tpye: "Exact" }] }] }),
      "spec.rules[0].matches[0].headers[0].tpye",
      "unknown field `tpye` (did you mean `type`?)",
    ],
    [
      "path match (a discriminated union)",
      route({ matches: [{ path: { type: "Exact", value: "/", vaule: "/a" } }] }),
      "spec.rules[0].matches[0].path.vaule",
      "unknown field `vaule` (did you mean `value`?)",
    ],
    [
      "filter body of another type",
      route({ filters: [{ type: "URLRewrite", urlRewrite: { hostname: "a" }, requestRedirect: { scheme: "https" } }] }),
      "spec.rules[0].filters[0].requestRedirect",
      "unknown field `requestRedirect` (fields here: type, urlRewrite)",
    ],
    [
      "header modifier",
      route({
        filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { sett: [{ name: "a", value: "b" }] } }],
      }),
      "spec.rules[0].filters[0].requestHeaderModifier.sett",
      "unknown field `sett` (did you mean `set`?)",
    ],
    [
      "mirror backendRef",
      route({ filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "web", weight: 1 } } }] }),
      "spec.rules[0].filters[0].requestMirror.backendRef.weight",
      "unknown field `weight` (fields here: group, kind, name, version, port)",
    ],
    [
      "backendRef",
      route({ backendRefs: [{ name: "web", wieght: 10 }] }),
      "spec.rules[0].backendRefs[0].wieght",
      "unknown field `wieght` (did you mean `weight`?)",
    ],
    [
      "retry",
      route({ retry: { attempts: 2, backof: "10ms" } }),
      "spec.rules[0].retry.backof",
      "unknown field `backof` (did you mean `backoff`?)",
    ],
    [
      "parentRef",
      route({}, { parentRefs: [{ name: "gateway", sectionName: "http" }] }),
      "spec.parentRefs[0].sectionName",
      "unknown field `sectionName` (fields here: group, kind, name)",
    ],
    // TrafficPolicy
    [
      "fault delay percent",
      policy({ faultInjection: { delay: { fixedDelay: "1s", percent: 50 } } }),
      "spec.faultInjection.delay.percent",
      "unknown field `percent` (did you mean `percentage`?)",
    ],
    [
      "concurencyLimit",
      policy({ concurencyLimit: 10 }),
      "spec.concurencyLimit",
      "unknown field `concurencyLimit` (did you mean `concurrencyLimit`?)",
    ],
    [
      "retry budget",
      policy({ retryBudget: { percentage: 20 } }),
      "spec.retryBudget.percentage",
      "unknown field `percentage` (did you mean `percent`?)",
    ],
    [
      "sticky key (a union of one-key objects)",
      policy({ stickySession: { hashOn: { hedaer: "x-user" } } }),
      "spec.stickySession.hashOn.hedaer",
      "unknown field `hedaer` (did you mean `header`?)",
    ],
    [
      "rate limit key with an extra field",
      policy({ rateLimits: [{ requests: 1, per: "1s", key: { header: "x", global: true } }] }),
      "spec.rateLimits[0].key.global",
      "unknown field `global` (fields here: header, cookie, claim, caller, clientIp, host, argument, field)",
    ],
    [
      "fault match",
      policy({ faultInjection: { abort: { httpStatus: 500 }, match: { header: [] } } }),
      "spec.faultInjection.match.header",
      "unknown field `header` (did you mean `headers`?)",
    ],
    [
      "targetRef",
      policy({ targetRefs: [{ name: "ratings", namespace: "x" }] }),
      "spec.targetRefs[0].namespace",
      "unknown field `namespace` (fields here: group, kind, name)",
    ],
    // RequestAuthentication
    [
      "jwt rule audience",
      authn({ audience: ["a"] }),
      "spec.jwtRules[0].audience",
      "unknown field `audience` (did you mean `audiences`?)",
    ],
    [
      "fromHeaders",
      authn({ fromHeaders: [{ name: "x-token", prefx: "Bearer " }] }),
      "spec.jwtRules[0].fromHeaders[0].prefx",
      "unknown field `prefx` (did you mean `prefix`?)",
    ],
    // AuthorizationPolicy
    [
      "source",
      authz({ from: [{ source: { principal: ["a"] } }] }),
      "spec.rules[0].from[0].source.principal",
      "unknown field `principal` (did you mean `principals`?)",
    ],
    [
      "to",
      authz({ to: [{ operations: { methods: ["GET"] } }] }),
      "spec.rules[0].to[0].operations",
      "unknown field `operations` (did you mean `operation`?)",
    ],
    [
      "condition (refined)",
      authz({ when: [{ key: "source.principal", values: ["a"], notvalues: ["b"] }] }),
      "spec.rules[0].when[0].notvalues",
      "unknown field `notvalues` (did you mean `notValues`?)",
    ],
    // Rollout
    [
      "analysis",
      rollout({ analysis: { latencyP95: "500ms" } }),
      "spec.analysis.latencyP95",
      "unknown field `latencyP95` (did you mean `latencyP99`?)",
    ],
    ["rollout spec", rollout({ step: [10] }), "spec.step", "unknown field `step` (did you mean `steps`?)"],
    // ExternalService
    [
      "tls",
      external({ tls: { clientCert: "C" } }),
      "spec.tls.clientCert",
      "unknown field `clientCert` (did you mean `clientCertificate`?)",
    ],
    [
      "port",
      external({ ports: [{ number: 443, protocol: "HTTPS", targetPort: 8443 }] }),
      "spec.ports[0].targetPort",
      "unknown field `targetPort` (fields here: number, protocol, name)",
    ],
    // metadata and the envelope
    [
      "metadata labels",
      route({}, {}),
      "metadata.labls",
      "unknown field `labls` (did you mean `labels`?)",
      { name: "x", labls: { a: "b" } },
    ],
    [
      "metadata resourceVersion",
      route({}, {}),
      "metadata.resourceVersion",
      "unknown field `resourceVersion` (fields here: name, namespace, labels, annotations)",
      { name: "x", resourceVersion: "7" },
    ],
  ])("%s", (_name, d, path, message, metadata?: Record<string, unknown>) => {
    expect(errorsOf(metadata ? { ...d, metadata } : d)).toEqual([{ path, message }]);
  });

  it("reports every unknown field, each with its path, with the other errors", () => {
    const errors = errorsOf(
      policy({ concurencyLimit: 10, faultInjection: { delay: { fixedDelay: "soon", percent: 50 } } }),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: "spec.concurencyLimit", message: "unknown field `concurencyLimit` (did you mean `concurrencyLimit`?)" },
        { path: "spec.faultInjection.delay.percent", message: "unknown field `percent` (did you mean `percentage`?)" },
        expect.objectContaining({ path: "spec.faultInjection.delay.fixedDelay" }),
      ]),
    );
  });

  it("names a misspelt field once, not also as missing", () => {
    const { spec, ...rest } = route({});
    expect(errorsOf({ ...rest, specs: spec })).toEqual([
      { path: "specs", message: "unknown field `specs` (did you mean `spec`?)" },
    ]);
  });

  it("keeps the error of the meant field when it is there but wrong", () => {
    expect(errorsOf(policy({ faultInjection: { delay: { fixedDelay: "1s", percentage: 200, percent: 50 } } }))).toEqual(
      [
        { path: "spec.faultInjection.delay.percentage", message: expect.stringMatching(/<=100/) },
        { path: "spec.faultInjection.delay.percent", message: "unknown field `percent` (did you mean `percentage`?)" },
      ],
    );
  });

  it("still says what is missing when the unknown field is something else", () => {
    expect(errorsOf(authz({ to: [{ operations: {} }] }))).toEqual([
      { path: "spec.rules[0].to[0].operations", message: "unknown field `operations` (did you mean `operation`?)" },
    ]);
    expect(errorsOf(authz({ to: [{ verbs: ["GET"] }] }))).toEqual([
      { path: "spec.rules[0].to[0].operation", message: "Invalid input: expected object, received undefined" },
      { path: "spec.rules[0].to[0].verbs", message: "unknown field `verbs` (fields here: operation)" },
    ]);
  });

  it("accepts every documented field", () => {
    const full = validateDocuments([
      route(
        {
          name: "r",
          matches: [
            {
              path: { type: "PathPrefix", value: "/" },
              headers: [{ type: "RegularExpression", name: "x", value: "a.*" }],
              queryParams: [{ name: "q", value: "1" }],
              method: "GET",
            },
          ],
          filters: [
            {
              type: "RequestMirror",
              requestMirror: {
                backendRef: { group: "", kind: "Service", name: "web", port: 80 },
                fraction: { numerator: 1, denominator: 10 },
              },
            },
          ],
          backendRefs: [{ group: "", kind: "Service", name: "web", version: "v1", port: 80, weight: 1 }],
          timeouts: { request: "1s", backendRequest: "500ms" },
          retry: { codes: [503], attempts: 1, backoff: "10ms", unsafeMethods: false },
        },
        { hostnames: ["a.example"] },
      ),
      policy({
        retryBudget: { percent: 20, minRetriesPerSecond: 10 },
        outlierDetection: { consecutiveErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
        concurrencyLimit: 100,
        rateLimits: [{ requests: 100, per: "1s", key: { header: "x-user" }, mode: "local" }],
        faultInjection: {
          match: { headers: [{ name: "end-user", value: "jason" }] },
          delay: { fixedDelay: "7s", percentage: 100 },
          abort: { httpStatus: 500, percentage: 10 },
        },
        stickySession: { hashOn: { cookie: "s" } },
      }),
    ]);
    expect(full.errors).toEqual([]);
  });
});

describe("metadata from kubectl", () => {
  it("keeps labels, annotations and namespace default", () => {
    const metadata = {
      name: "x",
      namespace: "default",
      labels: { app: "web" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
    };
    const { parsed, errors } = validateDocuments([{ ...route({}), metadata }]);
    expect(errors).toEqual([]);
    expect(parsed[0].doc.metadata).toEqual(metadata);
  });

  it("refuses another namespace: a mesh is one namespace", () => {
    expect(errorsOf({ ...route({}), metadata: { name: "x", namespace: "bookinfo" } })).toEqual([
      {
        path: "metadata.namespace",
        message: 'isomesh has one namespace per mesh: omit metadata.namespace or set it to "default" (got "bookinfo")',
      },
    ]);
  });
});

describe("status sent by a user", () => {
  it("is dropped with a warning, as kubectl drops status on create", () => {
    const d = doc(
      "Rollout",
      rollout({}).spec,
      { name: "reviews-v3" },
      { status: { phase: "Promoted", step: 1, weight: 100 } },
    );
    const { parsed, errors, warnings } = validateDocuments([d]);
    expect(errors).toEqual([]);
    expect(parsed[0].doc).not.toHaveProperty("status");
    expect(warnings).toEqual([
      {
        resource: "Rollout/reviews-v3",
        path: "status",
        message: "status is written by the control plane; the status sent was ignored",
      },
    ]);
  });
});

describe("backendRef group and kind", () => {
  it.each([
    [
      "kind NonExistent",
      { name: "web", kind: "NonExistent" },
      "spec.rules[0].backendRefs[0].kind",
      'isomesh routes only to mesh services: kind must be Service (got "NonExistent")',
    ],
    [
      "a group",
      { name: "web", group: "example.com" },
      "spec.rules[0].backendRefs[0].group",
      'isomesh routes only to mesh services: group must be "" (the core group of Service; got "example.com")',
    ],
  ])("refuses %s", (_n, ref, path, message) => {
    expect(errorsOf(route({ backendRefs: [ref] }))).toEqual([{ path, message }]);
  });

  it("refuses them on a mirror's backendRef too", () => {
    expect(
      errorsOf(
        route({
          filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "web", kind: "ServiceImport" } } }],
        }),
      ),
    ).toEqual([
      {
        path: "spec.rules[0].filters[0].requestMirror.backendRef.kind",
        message: 'isomesh routes only to mesh services: kind must be Service (got "ServiceImport")',
      },
    ]);
  });

  it("accepts core Service, spelled out or left out", () => {
    expect(
      errorsOf(route({ backendRefs: [{ name: "web" }, { group: "", kind: "Service", name: "web", version: "v1" }] })),
    ).toEqual([]);
  });

  it.each([
    [
      "a Gateway parentRef in the core group",
      route({}, { parentRefs: [{ group: "", kind: "Gateway", name: "gateway" }] }),
      "spec.parentRefs[0].group",
      'group of a Gateway must be "gateway.networking.k8s.io" (got "")',
    ],
    [
      "a Service targetRef in another group",
      policy({ targetRefs: [{ group: "networking.istio.io", kind: "Service", name: "ratings" }] }),
      "spec.targetRefs[0].group",
      'group of a Service must be "" (got "networking.istio.io")',
    ],
  ])("refuses %s", (_n, d, path, message) => {
    expect(errorsOf(d)).toEqual([{ path, message }]);
  });
});

describe("did you mean", () => {
  it.each([
    ["percent", ["fixedDelay", "percentage"], "percentage"],
    ["backendRef", ["name", "matches", "filters", "backendRefs", "timeouts", "retry"], "backendRefs"],
    ["BackendRefs", ["backendRefs"], "backendRefs"],
    ["name", ["value", "type"], undefined],
    ["delete", ["set", "add", "remove"], undefined],
    ["x", ["a", "b"], undefined],
  ])("%s among %j", (word, keys, expected) => expect(closestName(word, keys)).toBe(expected));
});

describe("defaults files", () => {
  it("refuse unknown fields, naming the file and the path", () => {
    const dir = tempDir("isomesh-defaults");
    writeFileSync(
      join(dir, "routes.yaml"),
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: web }\nspec:\n  parentRefs: [{ name: gateway }]\n  rules: [{ backendRef: [{ name: web }] }]\n",
    );
    const manifest = parseManifest(
      "name: m\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }] }\ndefaults: [routes.yaml]\n",
    );
    expect(() => loadDefaults(manifest, join(dir, "mesh.yaml"))).toThrow(
      /routes\.yaml: HTTPRoute\/web spec\.rules\[0\]\.backendRef: unknown field `backendRef` \(did you mean `backendRefs`\?\)/,
    );
  });
});

describe("every YAML document the body splits into", () => {
  it("is checked strictly, JSON and YAML alike", () => {
    const yaml =
      "apiVersion: isomesh.dev/v1\nkind: TrafficPolicy\nmetadata: { name: p }\nspec: { targetRefs: [{ name: a }], concurencyLimit: 3 }\n";
    expect(validateDocuments(splitDocuments(yaml).docs).errors).toEqual([
      {
        resource: "TrafficPolicy/p",
        path: "spec.concurencyLimit",
        message: "unknown field `concurencyLimit` (did you mean `concurrencyLimit`?)",
      },
    ]);
    expect(validateDocuments(splitDocuments(JSON.stringify(splitDocuments(yaml).docs[0])).docs).errors).toHaveLength(1);
  });
});

describe("documents stored before strict validation", () => {
  it("lose only the fields that were ignored then, and run as before", () => {
    const stored = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "web", namespace: "shop", uid: "1" },
      spec: {
        parentRefs: [{ group: "", name: "gateway" }],
        rules: [
          {
            backendRef: [{ name: "x" }],
            backendRefs: [{ name: "web", kind: "Backend", weight: 1, wieght: 2 }],
            matches: [{ headers: [{ name: "a", value: "b", tpye: "Exact" }] }],
          },
        ],
      },
    };
    const { doc, pruned } = pruneStoredDocument(stored as never);
    expect(pruned.sort()).toEqual(
      [
        "metadata.namespace",
        "metadata.uid",
        "spec.parentRefs[0].group",
        "spec.rules[0].backendRef",
        "spec.rules[0].backendRefs[0].kind",
        "spec.rules[0].backendRefs[0].wieght",
        "spec.rules[0].matches[0].headers[0].tpye",
      ].sort(),
    );
    expect(validateDocuments([doc]).errors).toEqual([]);
    expect(doc.spec).toEqual({
      parentRefs: [{ name: "gateway" }],
      rules: [{ backendRefs: [{ name: "web", weight: 1 }], matches: [{ headers: [{ name: "a", value: "b" }] }] }],
    });
    expect(stored.metadata.namespace).toBe("shop");
  });

  it("keep what was enforced: an invalid document stays invalid", () => {
    const stored = { ...route({ backendRefs: [{ name: "web", weight: -1 }] }), extra: 1 };
    const { doc, pruned } = pruneStoredDocument(stored as never);
    expect(pruned).toEqual(["extra"]);
    expect(validateDocuments([doc]).errors.map((e) => e.path)).toEqual(["spec.rules[0].backendRefs[0].weight"]);
  });
});

describe("compiled snapshots", () => {
  it("still validate at the edge: the strict parts they reuse get only known fields", () => {
    const topology = topologyOf(
      parseManifest(
        "name: m\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }\n",
      ),
    );
    const docs = [
      route({
        matches: [
          {
            path: { type: "RegularExpression", value: "/a.*" },
            headers: [
              { type: "RegularExpression", name: "x", value: "b.*" },
              { name: "y", value: "z" },
            ],
            queryParams: [{ name: "q", value: "1" }],
            method: "GET",
          },
        ],
        filters: [
          { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "a", value: "b" }] } },
          { type: "ResponseHeaderModifier", responseHeaderModifier: { remove: ["c"] } },
          {
            type: "URLRewrite",
            urlRewrite: { hostname: "h.example", path: { type: "ReplaceFullPath", replaceFullPath: "/b" } },
          },
          {
            type: "RequestMirror",
            requestMirror: { backendRef: { group: "", kind: "Service", name: "web", port: 80 }, percent: 10 },
          },
        ],
        backendRefs: [{ group: "", kind: "Service", name: "web" }],
      }),
      policy({
        targetRefs: [{ group: "", kind: "Service", name: "web" }],
        rateLimits: [{ requests: 1, per: "1s", key: { claim: "sub" } }],
        stickySession: { hashOn: { header: "x-user" } },
        faultInjection: { match: { headers: [{ name: "a", value: "b" }] }, abort: { httpStatus: 503 } },
      }),
      doc("AuthorizationPolicy", {
        targetRefs: [{ name: "web" }],
        rules: [
          {
            from: [{ source: { principals: ["gateway"] } }],
            to: [{ operation: { methods: ["GET"] } }],
            when: [{ key: "request.headers[x]", values: ["1"] }],
          },
        ],
      }),
      doc("RequestAuthentication", {
        targetRefs: [{ name: "web" }],
        jwtRules: [
          {
            issuer: "https://id.example",
            jwks: JWKS,
            fromHeaders: [{ name: "x-token" }],
            outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }],
          },
        ],
      }),
    ];
    const { parsed, errors } = validateDocuments(docs);
    expect(errors).toEqual([]);
    for (const edge of ["gateway", "web-edge"]) {
      const snap = compileSnapshot(
        topology,
        edge,
        parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
        1,
      );
      expect(Snapshot.safeParse(JSON.parse(JSON.stringify(snap))).error?.issues).toBeUndefined();
    }
  });
});

describe("every object of every kind's schema", () => {
  // A z.object (not z.strictObject) added later would silently accept typos again: find any.
  function loose(schema: z.core.$ZodType, path: string, seen = new Set<unknown>()): string[] {
    if (seen.has(schema)) return [];
    seen.add(schema);
    const def = (schema as z.core.$ZodTypes)._zod.def;
    const inner = (s: z.core.$ZodType, p = path) => loose(s, p, seen);
    switch (def.type) {
      case "object":
        return [
          ...(def.catchall?._zod.def.type === "never" ? [] : [path || "(root)"]),
          ...Object.entries(def.shape).flatMap(([k, v]) => inner(v, `${path}.${k}`)),
        ];
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "nonoptional":
      case "readonly":
      case "catch":
        return inner(def.innerType);
      case "pipe":
        return [...inner(def.in), ...inner(def.out)];
      case "array":
        return inner(def.element, `${path}[]`);
      case "record":
        return inner(def.valueType, `${path}{}`);
      case "union":
        return def.options.flatMap((o) => inner(o));
      case "intersection":
        return [...inner(def.left), ...inner(def.right)];
      case "lazy":
        return inner(def.getter());
      default:
        return [];
    }
  }

  it.each(Object.entries(KINDS))("%s is strict at every depth", (_kind, schema) =>
    expect(loose(schema, "")).toEqual([]),
  );
});

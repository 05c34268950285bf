import { describe, expect, it } from "vitest";
import { analyze } from "../../shared/analyze/index.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { compileFor } from "../helpers/edge.ts";
import { docs } from "../helpers/config-store.ts";

// External authorization's configuration: providers in the manifest (Istio's meshConfig
// extensionProviders, envoyExtAuthzHttp), CUSTOM AuthorizationPolicies at apply, and what each
// edge's snapshot holds.

const manifest = (providers: string, extra = "") => `name: xa
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }] }
  - { name: authz, versions: [{ name: v1, echo: true }] }
${extra}meshConfig:
  extensionProviders:
${providers}`;
const PROVIDERS = `    - { name: p, envoyExtAuthzHttp: { service: authz } }
    - { name: q, envoyExtAuthzHttp: { service: authz, failOpen: true } }
`;

const manifestError = (text: string) => {
  try {
    parseManifest(text);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
};

describe("extensionProviders in the manifest", () => {
  it("compiles Istio's fields with its defaults (closed, 403) and ours (10s)", () => {
    const t = topologyOf(
      parseManifest(
        manifest(`    - name: p
      envoyExtAuthzHttp:
        service: authz
        includeRequestHeadersInCheck: [Authorization, "X-Ctx-*"]
        includeRequestBodyInCheck: { maxRequestBytes: 1024 }
`),
      ),
    );
    expect(t.extensionProviders).toEqual([
      {
        name: "p",
        service: "authz",
        pathPrefix: "",
        timeoutMs: 10_000,
        failOpen: false,
        statusOnError: 403,
        requestHeaders: ["authorization", "x-ctx-*"],
        upstreamOnAllow: [],
        downstreamOnAllow: [],
        body: { maxBytes: 1024, partial: false },
      },
    ]);
  });

  it.each([
    ["an unknown field (Istio's port: a mesh service has none)", "{ service: authz, port: 8000 }", /port/],
    ["an unknown service", "{ service: nope }", /envoyExtAuthzHttp\.service: unknown service "nope"/],
    [
      "a bare * header pattern",
      "{ service: authz, includeRequestHeadersInCheck: ['*'] }",
      /includeRequestHeadersInCheck\[0\]/,
    ],
    [
      "a body limit over 1 MiB",
      "{ service: authz, includeRequestBodyInCheck: { maxRequestBytes: 2000000 } }",
      /maxRequestBytes: .*1048576/,
    ],
    ["a timeout over 60s", "{ service: authz, timeout: 2m }", /timeout: at most 60s/],
    ["a pathPrefix without /", "{ service: authz, pathPrefix: check }", /pathPrefix/],
  ])("refuses %s, naming the field", (_name, spec, message) => {
    expect(manifestError(manifest(`    - { name: p, envoyExtAuthzHttp: ${spec} }\n`))).toMatch(message);
  });

  it("refuses a duplicate provider name", () => {
    expect(
      manifestError(
        manifest(`    - { name: p, envoyExtAuthzHttp: { service: authz } }
    - { name: p, envoyExtAuthzHttp: { service: web } }
`),
      ),
    ).toMatch(/extensionProviders\[1\]\.name: duplicate provider "p"/);
  });
});

const policy = (name: string, spec: string) => `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ${name} }
spec:
${spec}
`;
const check = (yaml: string) => {
  const { parsed, errors } = validateDocuments(docs(yaml));
  if (errors.length) return errors;
  return analyze(
    topologyOf(parseManifest(manifest(PROVIDERS))),
    parsed.map((p) => p.resource),
  ).errors;
};

describe("CUSTOM AuthorizationPolicies at apply", () => {
  it("accepts a CUSTOM policy naming a declared provider", () => {
    expect(
      check(policy("a", "  targetRefs: [{ name: web }]\n  action: CUSTOM\n  provider: { name: p }\n  rules: [{}]")),
    ).toEqual([]);
  });

  it.each([
    [
      "CUSTOM without a provider",
      "  targetRefs: [{ name: web }]\n  action: CUSTOM",
      "spec.provider",
      /needs a provider/,
    ],
    [
      "a provider on ALLOW",
      "  targetRefs: [{ name: web }]\n  provider: { name: p }",
      "spec.provider",
      /for action CUSTOM/,
    ],
    [
      "an unknown field in provider",
      "  targetRefs: [{ name: web }]\n  action: CUSTOM\n  provider: { name: p, port: 1 }",
      "spec.provider.port",
      /port/,
    ],
    [
      "an unknown provider",
      "  targetRefs: [{ name: web }]\n  action: CUSTOM\n  provider: { name: nope }",
      "spec.provider.name",
      /unknown provider "nope" \(known: p, q/,
    ],
    [
      "CUSTOM on the provider's own service",
      "  targetRefs: [{ name: authz }]\n  action: CUSTOM\n  provider: { name: p }",
      "spec.targetRefs[0]",
      /serves the provider "p"/,
    ],
  ])("refuses %s (422 naming %s)", (_name, spec, path, message) => {
    const errors = check(policy("a", spec));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ resource: "AuthorizationPolicy/a", path });
    expect(errors[0].message).toMatch(message);
  });

  it("refuses a second provider on the same workload (Istio: one per workload)", () => {
    const errors = check(
      policy("a", "  targetRefs: [{ name: web }]\n  action: CUSTOM\n  provider: { name: p }") +
        "---\n" +
        policy("b", "  targetRefs: [{ name: web }, { name: api }]\n  action: CUSTOM\n  provider: { name: q }"),
    );
    expect(errors).toEqual([
      expect.objectContaining({
        resource: "AuthorizationPolicy/b",
        path: "spec.provider.name",
        message: expect.stringMatching(/web-edge already uses the provider "p"/),
      }),
    ]);
  });
});

describe("snapshots", () => {
  const yaml = policy("a", "  targetRefs: [{ name: web }]\n  action: CUSTOM\n  provider: { name: q }\n  rules: [{}]");
  it("the targeted edge holds its provider and policies; ALLOW/DENY never see CUSTOM", () => {
    const s = compileFor(manifest(PROVIDERS), "web-edge", yaml);
    expect(s.extAuthz).toMatchObject({
      provider: { name: "q", failOpen: true },
      policies: [{ name: "a", rules: [{}] }],
    });
    expect(s.authz).toBeUndefined();
  });
  it("other edges hold nothing of it", () => {
    expect(compileFor(manifest(PROVIDERS), "api-edge", yaml).extAuthz).toBeUndefined();
    expect(compileFor(manifest(PROVIDERS), "gateway", yaml).extAuthz).toBeUndefined();
  });
});

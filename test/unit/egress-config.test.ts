import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { analyze } from "../../shared/analyze/index.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { edgesFedBy, edgesOf } from "../../shared/snapshot/scope.ts";
import { generate } from "../../scripts/lib/gen.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

afterAll(removeTempDirs);

const MESH = `name: m
services:
  - name: shop
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]
    egress: true
  - name: cart
    versions: [{ name: v1, echo: true }]
egress:
  mtlsCertificates: [{ binding: PARTNER_CERT, certificateId: 11111111-2222-3333-4444-555555555555 }]
`;
const topology = topologyOf(parseManifest(MESH));

const parse = (yaml: string) => {
  const { parsed, errors } = validateDocuments(splitDocuments(yaml).docs);
  return { resources: parsed.map((p) => p.resource), errors };
};
const external = (spec: string, name = "books") =>
  `apiVersion: isomesh.dev/v1\nkind: ExternalService\nmetadata: { name: ${name} }\nspec:\n${spec}\n`;

describe("manifest: egress", () => {
  it("gives the egress edge to a mesh only when something calls out", () => {
    expect(edgesOf(topology)).toEqual(["gateway", "shop-edge", "cart-edge", "egress"]);
    expect(topology.egress).toEqual({ certificates: ["PARTNER_CERT"] });
    expect(
      topologyOf(parseManifest("name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\n")).egress,
    ).toBeUndefined();
  });

  it.each([
    [
      "egress as a service name",
      "name: x\nservices:\n  - { name: egress, versions: [{ name: v1, echo: true }] }\n",
      /"egress" is reserved/,
    ],
    [
      "a lower-case binding",
      "name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\negress:\n  mtlsCertificates: [{ binding: cert, certificateId: c }]\n",
      /egress\.mtlsCertificates\[0\]\.binding: binding names are upper-case/,
    ],
    [
      "a reserved binding",
      "name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\negress:\n  mtlsCertificates: [{ binding: CONTROL, certificateId: c }]\n",
      /"CONTROL" is reserved/,
    ],
  ])("rejects %s", (_label, text, message) => expect(() => parseManifest(text, "mesh.yaml")).toThrow(message));
});

describe("isomesh gen: egress", () => {
  const dir = tempDir("isomesh-egress-gen");
  writeFileSync(join(dir, "mesh.yaml"), MESH);
  const mesh = generate(join(dir, "mesh.yaml"), { outDir: join(dir, "gen"), beaconKeys: TEST_BEACON_KEYS });
  const worker = (name: string) => mesh.workers.find((w) => w.name === name)!;

  it("binds EGRESS, with the caller's identity, only into apps of services that declare egress", () => {
    expect(worker("shop-v2").config.services).toContainEqual({
      binding: "EGRESS",
      service: "m-egress",
      props: { caller: "shop", version: "v2" },
    });
    expect(worker("cart-v1").config.services?.some((s) => s.binding === "EGRESS")).toBe(false);
  });

  it("deploys the egress edge first, with its client certificates and a control-plane nudge binding", () => {
    expect(worker("egress").config).toMatchObject({
      workers_dev: false,
      mtls_certificates: [{ binding: "PARTNER_CERT", certificate_id: "11111111-2222-3333-4444-555555555555" }],
    });
    expect(worker("control").config.services).toContainEqual({
      binding: "EDGE_EGRESS",
      service: "m-egress",
      entrypoint: "EdgeControl",
      props: { caller: "control" },
    });
  });
});

describe("ExternalService", () => {
  it("defaults to HTTPS on 443 and refuses invalid specs with the field named", () => {
    const ok = parse(external("  hosts: [api.example.com]"));
    expect(ok.errors).toEqual([]);
    expect(ok.resources[0]).toMatchObject({ spec: { ports: [{ number: 443, protocol: "HTTPS" }] } });
    const paths = (yaml: string) => parse(yaml).errors.map((e) => e.path);
    expect(paths(external("  hosts: []"))).toEqual(["spec.hosts"]);
    expect(paths(external("  hosts: [Bad_Host]"))).toEqual(["spec.hosts[0]"]);
    expect(paths(external("  hosts: [a.example]\n  ports: [{ number: 80, protocol: FTP }]"))).toEqual([
      "spec.ports[0].protocol",
    ]);
    expect(
      paths(
        external(
          "  hosts: [a.example]\n  ports: [{ number: 80, protocol: HTTP }]\n  tls: { clientCertificate: PARTNER_CERT }",
        ),
      ),
    ).toEqual(["spec.tls"]);
    expect(paths(external("  hosts: [a.example]\n  timeouts: { request: 1s, backendRequest: 2s }"))).toEqual([
      "spec.timeouts.backendRequest",
    ]);
  });

  it("reaches the egress edge only, compiled into an allow-list", () => {
    const { resources } = parse(
      external(
        "  hosts: [api.example.com, '*.books.example']\n  ports: [{ number: 443, protocol: HTTPS }]\n  retry: { attempts: 1 }\n  tls: { clientCertificate: PARTNER_CERT }",
      ),
    );
    expect(edgesFedBy(resources[0])).toEqual(["egress"]);
    const stored = resources.map((resource) => ({ resource, createdAt: 1 }));
    const snap = compileSnapshot(topology, "egress", stored, 3);
    expect(snap).toMatchObject({
      role: "egress",
      backends: ["books"],
      externals: [{ name: "books", clientCertificate: "PARTNER_CERT" }],
    });
    expect(snap.vhosts.map((v) => v.hostnames)).toEqual([["*.books.example"], ["api.example.com"]]);
    expect(snap.vhosts[0].routes[0]).toMatchObject({
      backends: [{ service: "books", weight: 1 }],
      retry: { attempts: 1 },
    });
    expect(JSON.stringify(compileSnapshot(topology, "shop-edge", stored, 3))).not.toContain("books");
  });

  it.each([
    [
      "a mesh without an egress edge",
      external("  hosts: [a.example]"),
      "spec",
      /no egress edge/,
      topologyOf(parseManifest("name: x\nservices:\n  - { name: a, versions: [{ name: v1, echo: true }] }\n")),
    ],
    [
      "an undeclared client certificate",
      external("  hosts: [a.example]\n  tls: { clientCertificate: OTHER }"),
      "spec.tls.clientCertificate",
      /unknown client certificate binding "OTHER".*known: PARTNER_CERT/,
      topology,
    ],
    [
      "a RequestAuthentication on the egress edge",
      "apiVersion: isomesh.dev/v1\nkind: RequestAuthentication\nmetadata: { name: r }\nspec:\n  targetRefs: [{ kind: Gateway, name: egress }]\n  jwtRules: [{ issuer: https://i, jwksUri: https://i/jwks }]\n",
      "spec.targetRefs[0].name",
      /called by mesh apps, not end users/,
      topology,
    ],
    [
      "an HTTPRoute on the egress edge",
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: r }\nspec:\n  parentRefs: [{ name: egress }]\n",
      "spec.parentRefs[0].name",
      /ExternalService resources/,
      topology,
    ],
  ])("analyze refuses %s", (_label, yaml, path, message, t) => {
    const { resources } = parse(yaml);
    const { errors } = analyze(t, resources);
    expect(errors).toHaveLength(1);
    expect(errors[0].path).toBe(path);
    expect(errors[0].message).toMatch(message);
  });

  it("warns when two ExternalServices declare one host, and lets authorization target the egress edge", () => {
    const { resources } = parse(
      external("  hosts: [a.example]", "one") +
        "---\n" +
        external("  hosts: [a.example, b.example]", "two") +
        "---\napiVersion: isomesh.dev/v1\nkind: AuthorizationPolicy\nmetadata: { name: p }\nspec:\n  targetRefs: [{ kind: Gateway, name: egress }]\n  rules: [{ from: [{ source: { principals: [shop] } }] }]\n",
    );
    const { errors, warnings } = analyze(topology, resources);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      {
        resource: "ExternalService/two",
        path: "spec.hosts[0]",
        message: expect.stringContaining("also declared by ExternalService/one"),
      },
    ]);
    expect(edgesFedBy(resources[2])).toEqual(["egress"]);
    const snap = compileSnapshot(
      topology,
      "egress",
      resources.map((resource, i) => ({ resource, createdAt: i })),
      1,
    );
    expect(snap.vhosts.find((v) => v.hostnames[0] === "a.example")!.routes[0].route).toBe("one");
    expect(snap.authz?.policies.map((p) => p.name)).toEqual(["p"]);
  });
});

describe("analyze --full: egress", () => {
  it("warns when services may call out but nothing is declared, and not once something is", () => {
    const none = analyze(topology, [], { full: true }).warnings.filter((w) => w.resource === "Gateway/egress");
    expect(none).toEqual([
      {
        resource: "Gateway/egress",
        path: "",
        message: expect.stringContaining("shop may call out (egress: true) but no ExternalService is declared"),
      },
    ]);
    const { resources } = parse(external("  hosts: [a.example]"));
    expect(
      analyze(topology, resources, { full: true }).warnings.filter((w) => w.resource === "Gateway/egress"),
    ).toEqual([]);
  });
});

describe("Bookinfo's egress example", () => {
  it("generates, and its task file passes analyze against it", () => {
    const dir = tempDir("isomesh-egress-bookinfo");
    const mesh = generate("examples/bookinfo/mesh-egress.yaml", {
      outDir: join(dir, "gen"),
      beaconKeys: TEST_BEACON_KEYS,
    });
    expect(mesh.workers.find((w) => w.name === "details-v2")!.config.services).toContainEqual({
      binding: "EGRESS",
      service: "bookinfo-egress",
      props: { caller: "details", version: "v2" },
    });
    const { resources, errors } = parse(readFileSync("examples/bookinfo/tasks/egress-google-books.yaml", "utf8"));
    expect(errors).toEqual([]);
    expect(analyze(topologyOf(mesh.manifest), resources)).toEqual({ errors: [], warnings: [] });
  });
});

import { describe, expect, it } from "vitest";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { validateDocuments } from "../../shared/resources/parse.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { docs } from "../helpers/config-store.ts";

// Each concern declares its compiled form beside its decision; the snapshot schema puts them
// together. An edge reads a snapshot through that schema, which drops what it does not declare:
// every field the compiler writes must come back, or a feature would silently vanish at the edge.

const manifest = `name: rt
services:
  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }], egress: true }
`;
const everything = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: all }
spec:
  parentRefs: [{ name: gateway }, { kind: Service, name: web }]
  hostnames: [shop.example]
  rules:
    - name: first
      matches: [{ path: { type: RegularExpression, value: "/a/[0-9]+" }, headers: [{ name: x-a, value: "1" }, { type: RegularExpression, name: x-b, value: "b+" }], queryParams: [{ name: q, value: "1" }], method: GET }]
      filters:
        - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-s, value: "1" }], add: [{ name: x-a, value: "2" }], remove: [x-r] } }
        - { type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-t, value: "1" }] } }
        - { type: URLRewrite, urlRewrite: { hostname: in.example, path: { type: ReplaceFullPath, replaceFullPath: /b } } }
        - { type: RequestMirror, requestMirror: { backendRef: { name: web, version: v2 }, fraction: { numerator: 1, denominator: 4 } } }
      backendRefs: [{ name: web, version: v1, weight: 3 }, { name: web, weight: 1 }]
      timeouts: { request: 2s, backendRequest: 500ms }
      retry: { codes: [503], attempts: 2, backoff: 10ms, unsafeMethods: true }
    - matches: [{ path: { type: PathPrefix, value: /old } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, hostname: n.example, port: 8443, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 308 } }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }, { kind: Gateway, name: gateway }, { kind: Gateway, name: egress }]
  retryBudget: { percent: 30, minRetriesPerSecond: 5 }
  outlierDetection: { consecutiveErrors: 4, interval: 5s, baseEjectionTime: 20s, maxEjectionPercent: 40 }
  concurrencyLimit: 50
  rateLimits: [{ requests: 10, per: 1s, key: { cookie: s }, mode: global }, { requests: 5, per: 1m }]
  faultInjection: { match: { headers: [{ name: end-user, value: jason }] }, delay: { fixedDelay: 7s, percentage: 50 }, abort: { httpStatus: 503, percentage: 10 } }
  stickySession: { hashOn: { claim: sub } }
---
apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: login }
spec:
  targetRefs: [{ kind: Service, name: web }, { kind: Gateway, name: gateway }]
  jwtRules:
    - issuer: https://login.example
      audiences: [shop]
      jwksUri: https://login.example/jwks
      fromHeaders: [{ name: x-token, prefix: "T " }]
      fromParams: [t]
      forwardOriginalToken: true
      outputClaimToHeaders: [{ header: x-sub, claim: sub }]
      clockSkewSeconds: 5
      requireExpiration: true
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: authz }
spec:
  targetRefs: [{ kind: Service, name: web }, { kind: Gateway, name: gateway }, { kind: Gateway, name: egress }]
  action: DENY
  rules:
    - from: [{ source: { principals: [a], notPrincipals: [b], requestPrincipals: ["*"], notRequestPrincipals: [c] } }]
      to: [{ operation: { methods: [GET], notMethods: [POST], paths: [/x], notPaths: [/y], hosts: [Shop.Example], notHosts: [o.example] } }]
      when: [{ key: "request.auth.claims[groups]", values: [admin], notValues: [banned] }]
---
apiVersion: isomesh.dev/v1
kind: ExternalService
metadata: { name: books }
spec:
  hosts: [books.example]
  ports: [{ number: 8443, protocol: HTTPS, name: tls }]
  timeouts: { request: 1s }
  retry: { codes: [502], attempts: 1 }
  tls: { clientCertificate: BOOKS_CERT }
`;

describe("compiled snapshots, read back as an edge reads them", () => {
  const topology = topologyOf(parseManifest(manifest));
  const { parsed, errors } = validateDocuments(docs(everything));
  it.each(["gateway", "web-edge", "egress"])("%s loses nothing", (edge) => {
    expect(errors).toEqual([]);
    const compiled = compileSnapshot(
      topology,
      edge,
      parsed.map((p, i) => ({ resource: p.resource, createdAt: i })),
      1,
    );
    expect(Snapshot.parse(JSON.parse(JSON.stringify(compiled)))).toEqual(JSON.parse(JSON.stringify(compiled)));
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { validateDocuments } from "../../../shared/resources/parse.ts";
import { keptBackend } from "../../../shared/routing/session.ts";
import { testMesh } from "../../helpers/edge.ts";

// Session persistence on an HTTPRoute rule (Gateway API GEP-1619): validation at apply, the token's
// rules, and the split keeping a client on its version through the gateway and a service edge, in
// process. Timeouts are tested with Date faked.

afterEach(() => vi.useRealTimers());

const rule = (sessionPersistence: unknown) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "r" },
  spec: { parentRefs: [{ name: "gateway" }], rules: [{ backendRefs: [{ name: "api" }], sessionPersistence }] },
});
const errorsOf = (d: unknown) => validateDocuments([d]).errors.map((e) => `${e.path}: ${e.message}`);

describe("sessionPersistence validation", () => {
  it("accepts GEP-1619's fields", () => {
    expect(
      errorsOf(
        rule({
          sessionName: "shop-session",
          absoluteTimeout: "1h",
          idleTimeout: "10m",
          type: "Cookie",
          cookieConfig: { lifetimeType: "Permanent" },
        }),
      ),
    ).toEqual([]);
    expect(errorsOf(rule({ type: "Header", sessionName: "x-session" }))).toEqual([]);
    expect(errorsOf(rule({}))).toEqual([]);
  });

  it.each([
    [
      { cookieConfig: { lifetimeType: "Permanent" } },
      "absoluteTimeout",
      /must be set when cookieConfig.lifetimeType is Permanent/,
    ],
    [{ cookieConfig: { lifetimeType: "Permanent" }, absoluteTimeout: "9601h" }, "absoluteTimeout", /at most 400 days/],
    [{ type: "Header", cookieConfig: {} }, "cookieConfig", /only to type: Cookie/],
    [{ type: "Sticky" }, "type", /./],
    [{ sessionName: "a b" }, "sessionName", /HTTP token/],
    [{ sessionName: "x".repeat(129) }, "sessionName", /./],
    [{ idleTimeout: "0s" }, "idleTimeout", /longer than 0/],
    [{ sessionName: "X-Isomesh-Backend" }, "sessionName", /the mesh's own/],
    [{ type: "Header", sessionName: "Authorization" }, "sessionName", /already has a meaning/],
    [{ absoluteTimeout: "soon" }, "absoluteTimeout", /invalid duration/],
    [{ cookieConfig: { lifetime: "Session" } }, "cookieConfig.lifetime", /unknown field/],
    [{ sessionname: "x" }, "sessionname", /did you mean `sessionName`/],
  ])("refuses %j at %s", (sp, field, message) => {
    const errors = errorsOf(rule(sp));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(`spec.rules[0].sessionPersistence.${field}: `);
    expect(errors[0]).toMatch(message);
  });
});

describe("session tokens", () => {
  const backends = [
    { service: "web", version: "v1", weight: 1 },
    { service: "web", version: "v2", weight: 1 },
    { service: "web", version: "dark", weight: 0 },
  ];
  const s = { name: "s", header: false, permanent: false, absoluteMs: 3_600_000 };
  const now = 1_800_000_000;
  const t = (label: string, issued = now, seen = now) => `${label}.${issued.toString(36)}.${seen.toString(36)}`;

  it("keeps a backend of the rule that takes traffic", () => {
    expect(keptBackend(s, t("web/v2"), backends, now)).toMatchObject({ reason: "kept", kept: backends[1] });
  });

  it.each([
    [t("web/dark"), "unavailable"], // weight 0: a client cannot name a dark version into traffic
    [t("other/v1"), "unavailable"], // not a backend of this rule
    [t("web/v1", now - 3600), "expired"],
    [t("web/v1", now + 3600), "invalid"], // issued in the future
    ["garbage", "invalid"],
    ["web/v1.x!.y", "invalid"],
    [`${"a".repeat(300)}.1.1`, "invalid"],
  ])("ignores %s (%s)", (token, reason) => {
    const out = keptBackend(s, token, backends, now);
    expect(out.reason).toBe(reason);
    expect(out.kept).toBeUndefined();
  });
});

const manifest = `name: test
services:
  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
`;
const routes = (sp: string, weights = [50, 50], policy = "") => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web-entry }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: web }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web-canary }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /a } }]
      backendRefs: [{ name: web, version: v1, weight: ${weights[0]} }, { name: web, version: v2, weight: ${weights[1]} }]
      sessionPersistence: ${sp}
    - matches: [{ path: { type: PathPrefix, value: /b } }]
      backendRefs: [{ name: web, version: v1, weight: ${weights[0]} }, { name: web, version: v2, weight: ${weights[1]} }]
      sessionPersistence: ${sp}
    - matches: [{ path: { type: PathPrefix, value: /plain } }]
      backendRefs: [{ name: web, version: v1 }, { name: web, version: v2 }]
${policy}`;
const versionOf = async (r: Response) => ((await r.json()) as { version: string }).version;
const cookiePair = (r: Response) => r.headers.get("set-cookie")?.split(";")[0];

describe("session persistence through the gateway and a service edge", () => {
  it("the first response sets a session cookie; requests carrying it stay on that version", async () => {
    const mesh = testMesh(manifest, routes("{}"));
    const first = await mesh.request("/a");
    const version = await versionOf(first);
    const setCookie = first.headers.get("set-cookie")!;
    expect(setCookie).toMatch(
      /^isomesh-session-[0-9a-z]+=web\/v[12]\.[0-9a-z]+\.[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect(setCookie).not.toMatch(/Max-Age|Expires/i); // a Session cookie by default
    for (let i = 0; i < 50; i++) {
      const r = await mesh.request("/a", { headers: { cookie: `other=1; ${cookiePair(first)}` } });
      expect(await versionOf(r)).toBe(version);
      expect(r.headers.has("set-cookie")).toBe(false); // the token stays good as it is
    }
  });

  it("new sessions still follow the weights; each rule keeps its own session", async () => {
    const mesh = testMesh(manifest, routes("{}", [70, 30]));
    const seen: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const v = await versionOf(await mesh.request("/a"));
      seen[v] = (seen[v] ?? 0) + 1;
    }
    expect(seen.v1 / 400).toBeGreaterThan(0.6);
    expect(seen.v1 / 400).toBeLessThan(0.8);
    const a = await mesh.request("/a");
    const b = await mesh.request("/b");
    expect(cookiePair(a)!.split("=")[0]).not.toBe(cookiePair(b)!.split("=")[0]);
  });

  it("a route without sessionPersistence sets no cookie", async () => {
    const mesh = testMesh(manifest, routes("{}"));
    expect((await mesh.request("/plain")).headers.has("set-cookie")).toBe(false);
  });

  it("re-balances, with a new cookie, when the session's version gets weight 0", async () => {
    const before = testMesh(manifest, routes("{ sessionName: canary }", [0, 1]));
    const onV2 = await before.request("/a");
    expect(await versionOf(onV2)).toBe("v2");
    const after = testMesh(manifest, routes("{ sessionName: canary }", [1, 0]));
    const r = await after.request("/a", { headers: { cookie: cookiePair(onV2)! } });
    expect(await versionOf(r)).toBe("v1");
    expect(cookiePair(r)).toMatch(/^canary=web\/v1\./);
  });

  it("a forged cookie naming another service's version or a weight-0 version is ignored and replaced", async () => {
    const mesh = testMesh(manifest, routes("{ sessionName: canary }", [1, 0]));
    for (const forged of ["canary=web/v2.0.0", "canary=api/v1.0.0", "canary=%2e%2e"]) {
      const r = await mesh.request("/a", { headers: { cookie: forged } });
      expect(await versionOf(r)).toBe("v1");
      expect(cookiePair(r)).toMatch(/^canary=web\/v1\./);
    }
  });

  it("re-balances when outlier detection ejects the session's version", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const policy = `---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  outlierDetection: { consecutiveErrors: 1, maxEjectionPercent: 50 }
`;
    let down: string | undefined;
    const mesh = testMesh(manifest, routes("{ sessionName: s }", [1, 1], policy), {
      backend: () => (version) =>
        version === down ? new Response("down", { status: 503 }) : Response.json({ version }),
    });
    const first = await mesh.request("/a");
    down = await versionOf(first);
    const cookie = cookiePair(first)!;
    expect((await mesh.request("/a", { headers: { cookie } })).status).toBe(503); // ejects it
    const r = await mesh.request("/a", { headers: { cookie } });
    expect(r.status).toBe(200);
    const other = down === "v1" ? "v2" : "v1";
    expect(await versionOf(r)).toBe(other);
    expect(cookiePair(r)).toMatch(new RegExp(`^s=web/${other}\\.`));
  });

  it("honours absoluteTimeout: after it the session is re-balanced and restarted", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const mesh = testMesh(manifest, routes("{ sessionName: s, absoluteTimeout: 10m }"));
    const first = await mesh.request("/a");
    const cookie = cookiePair(first)!;
    vi.setSystemTime(Date.now() + 9 * 60_000);
    expect((await mesh.request("/a", { headers: { cookie } })).headers.has("set-cookie")).toBe(false);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    const later = await mesh.request("/a", { headers: { cookie } });
    expect(cookiePair(later)).toMatch(/^s=web\/v[12]\./);
    expect(cookiePair(later)).not.toBe(cookie);
  });

  it("honours idleTimeout: each use refreshes the token; a session idle longer is restarted", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const mesh = testMesh(manifest, routes("{ sessionName: s, idleTimeout: 5m }"));
    let cookie = cookiePair(await mesh.request("/a"))!;
    const version = cookie.split("=")[1].split(".")[0];
    for (let i = 0; i < 4; i++) {
      vi.setSystemTime(Date.now() + 4 * 60_000); // never idle 5 minutes: kept, token refreshed
      const r = await mesh.request("/a", { headers: { cookie } });
      expect(`web/${await versionOf(r)}`).toBe(version);
      cookie = cookiePair(r)!;
      expect(cookie.split("=")[1].split(".")[0]).toBe(version);
    }
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const idle = await mesh.request("/a", { headers: { cookie } });
    expect(cookiePair(idle)).not.toBe(cookie);
  });

  it("a Permanent cookie carries Max-Age = absoluteTimeout; Secure on an https request", async () => {
    const mesh = testMesh(
      manifest,
      routes("{ sessionName: s, absoluteTimeout: 1h, cookieConfig: { lifetimeType: Permanent } }"),
    );
    const r = await mesh.gateway.fetch(new Request("https://localhost/a"));
    expect(r.headers.get("set-cookie")).toMatch(/; Max-Age=3600; Secure$/);
  });

  it("type Header: the token travels in a header both ways", async () => {
    const mesh = testMesh(manifest, routes("{ sessionName: x-session, type: Header }"));
    const first = await mesh.request("/a");
    const token = first.headers.get("x-session")!;
    expect(token).toMatch(/^web\/v[12]\./);
    expect(first.headers.has("set-cookie")).toBe(false);
    const version = await versionOf(first);
    for (let i = 0; i < 20; i++)
      expect(await versionOf(await mesh.request("/a", { headers: { "x-session": token } }))).toBe(version);
  });

  it("explain shows the session's decision", async () => {
    const mesh = testMesh(manifest, routes("{ sessionName: s }", [1, 0]));
    await mesh.edge("web-edge").request("/a", { explain: true, headers: { cookie: "s=web/v2.0.0" } });
    expect(mesh.edge("web-edge").decisions.find((d) => d.session === "s")).toMatchObject({
      stage: "split",
      outcome: "unavailable",
    });
  });
});

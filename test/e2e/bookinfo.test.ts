import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, type DevProcess } from "../helpers/dev-process.ts";
import { http } from "../helpers/http.ts";

// `npm start` on the repo's Bookinfo manifest, as a user runs it.
let dir: string;
let dev: DevProcess;
const page = () => http(`http://127.0.0.1:${dev.port}/productpage`);
const admin = (path: string, init: { method?: string; body?: string } = {}) =>
  http(`http://127.0.0.1:${dev.adminPort}${path}`, { ...init, headers: { authorization: `Bearer ${dev.token}` } });

/** Which reviews version rendered the page: v1 shows no stars, v2 black ones, v3 red ones. */
export function starColor(html: string): "none" | "black" | "red" {
  const reviews = html.slice(html.indexOf("Reviewer1"));
  if (/color[=:]\s*"?red/i.test(reviews)) return "red";
  if (/color[=:]\s*"?black/i.test(reviews)) return "black";
  return "none";
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "isomesh-bookinfo-"));
  dev = await startDev({
    manifest: "examples/bookinfo/mesh.yaml",
    state: join(dir, "state"),
  });
});
afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("Bookinfo on isomesh", () => {
  it("applies the demo's gateway routes on first start", async () => {
    const routes = (await admin("/v1/resources/HTTPRoute")).json();
    expect(routes.items.map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual(["bookinfo"]);
  });

  it("serves /productpage with details and reviews on the page", async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.body).toContain("The Comedy of Errors");
    expect(res.body).toContain("1234567890"); // ISBN-10 from details
    expect(res.body).toContain("Reviewer1");
    expect(res.body).toContain("Reviewer2");
    expect(res.headers["x-isomesh-backend"]).toBe("productpage/v1");
  });

  it("cycles through reviews v1, v2 and v3 on reload", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 3; i++) seen.add(starColor((await page()).body));
    expect([...seen].sort()).toEqual(["black", "none", "red"]);
    // By default the terminal stays quiet: no JSON access-log line for any of these page views.
    expect(dev.output()).not.toMatch(/"requestId":/);
  });

  it("routes the user jason to reviews v2 and everyone else to v1 (Istio's request-routing task)", async () => {
    const task = readFileSync("examples/bookinfo/tasks/request-routing.yaml", "utf8");
    expect((await admin("/v1/apply?wait=true", { method: "POST", body: task })).status).toBe(200);
    const login = await http(`http://127.0.0.1:${dev.port}/login`, {
      method: "POST",
      body: "username=jason",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(login.status).toBe(302);
    const cookie = login.headers["set-cookie"].split(";")[0];
    for (let i = 0; i < 5; i++) {
      expect(starColor((await http(`http://127.0.0.1:${dev.port}/productpage`, { headers: { cookie } })).body)).toBe(
        "black",
      );
      expect(starColor((await page()).body)).toBe("none");
    }
  });

  it("shows ratings unavailable when ratings aborts for jason (fault-injection task)", async () => {
    const task = readFileSync("examples/bookinfo/tasks/fault-abort.yaml", "utf8");
    expect((await admin("/v1/apply?wait=true", { method: "POST", body: task })).status).toBe(200);
    const html = (await http(`http://127.0.0.1:${dev.port}/productpage`, { headers: { cookie: "session=jason" } }))
      .body;
    expect(html).toContain("Ratings service is currently unavailable");
    expect((await admin("/v1/resources/TrafficPolicy/ratings?wait=true", { method: "DELETE" })).status).toBe(200);
  });

  it("sends every request to reviews v3 within 2 s of applying the README's route", async () => {
    const applied = await admin("/v1/apply", {
      method: "POST",
      body: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - backendRefs: [{ name: reviews, version: v3 }]
`,
    });
    expect(applied.status).toBe(200);
    const started = Date.now();
    let allRed = false;
    while (!allRed && Date.now() - started < 2000) {
      const colors = await Promise.all(Array.from({ length: 5 }, async () => starColor((await page()).body)));
      allRed = colors.every((c) => c === "red");
    }
    expect(allRed).toBe(true);
    for (let i = 0; i < 10; i++) expect(starColor((await page()).body)).toBe("red");
  });

  it("serves the login flow and the API", async () => {
    const products = await http(`http://127.0.0.1:${dev.port}/api/v1/products`);
    expect(products.status).toBe(200);
    expect(products.json()[0].title).toBe("The Comedy of Errors");
    expect((await http(`http://127.0.0.1:${dev.port}/not-routed`)).status).toBe(404);
  });

  it("locks down: only authenticated users reach productpage, only reviews may call ratings", async () => {
    for (const f of ["require-jwt.yaml", "ratings-from-reviews.yaml"])
      expect(
        (
          await admin("/v1/apply?wait=true", {
            method: "POST",
            body: readFileSync(`examples/bookinfo/security/${f}`, "utf8"),
          })
        ).status,
      ).toBe(200);
    const anonymous = await page();
    expect(anonymous.status).toBe(403);
    expect(anonymous.json().error).toMatchObject({ code: "rbac_denied", policy: ["productpage-authenticated"] });
    const token = execFileSync(process.execPath, ["--import", "tsx", "scripts/demo-token.ts", "jason"])
      .toString()
      .trim();
    const signedIn = await http(`http://127.0.0.1:${dev.port}/productpage`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(signedIn.status).toBe(200);
    expect(starColor(signedIn.body)).toBe("red"); // reviews (v3) still reaches ratings
    expect(signedIn.body).not.toContain("Ratings service is currently unavailable");
  });

  it("explains a request as jason: the gateway route, the reviews rule that picked v2, the authorization at ratings", async () => {
    expect(
      (
        await admin("/v1/apply?wait=true", {
          method: "POST",
          body: readFileSync("examples/bookinfo/tasks/request-routing.yaml", "utf8"),
        })
      ).status,
    ).toBe(200);
    const token = execFileSync(process.execPath, ["--import", "tsx", "scripts/demo-token.ts", "jason"])
      .toString()
      .trim();
    const env = {
      ...process.env,
      ISOMESH_ADMIN: `http://127.0.0.1:${dev.adminPort}`,
      ISOMESH_TOKEN: dev.token,
      NO_COLOR: "1",
    };
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, ["scripts/isomesh.mjs", ...args], { env }).toString();
    const args = [
      "explain",
      "--send",
      "-H",
      `authorization: Bearer ${token}`,
      "-H",
      "cookie: session=jason",
      `http://127.0.0.1:${dev.port}/productpage`,
    ];
    const text = cli(...args);
    expect(text).toMatch(/gateway[\s\S]*route\s+matched HTTPRoute\/bookinfo rule 0/);
    expect(text).toMatch(
      /reviews-edge[\s\S]*route\s+matched HTTPRoute\/reviews rule 0[\s\S]*split\s+picked reviews\/v2/,
    );
    expect(text).toMatch(/ratings-edge[\s\S]*authz\s+ALLOW policy ratings-callers rule 0 matched/);
    const json = JSON.parse(cli(...args, "-o", "json"));
    expect(json.hops[0].edge).toBe("gateway");

    // A denial names its policy: anonymous users may not reach productpage (evaluated without sending).
    const denied = cli("explain", `http://127.0.0.1:${dev.port}/productpage`);
    expect(denied).toMatch(/authz\s+no ALLOW policy matched[\s\S]*policy: productpage-authenticated/);
  });
});

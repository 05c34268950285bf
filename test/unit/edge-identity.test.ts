import { describe, expect, it } from "vitest";
import { compileFor, testEdge } from "../helpers/edge.ts";

// The identity stages of a service edge, in process: what the gateway's identity headers become
// (a claim-based DENY must hold, and unreadable identity must never pass as anonymous).

const snapshot = compileFor(
  "name: m\nservices: [{ name: api, versions: [{ name: v1, echo: true }] }]\n",
  "api-edge",
  `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: blocked }
spec:
  targetRefs: [{ kind: Service, name: api }]
  action: DENY
  rules: [{ when: [{ key: "request.auth.claims[role]", values: [blocked] }] }]
`,
);
const edge = testEdge(snapshot);

const b64 = (o: unknown) => Buffer.from(typeof o === "string" ? o : JSON.stringify(o)).toString("base64url");
const ISS = "https://login.example";
const send = async (caller: string, headers: Record<string, string>) => {
  const res = await edge.request("/x", { headers, caller });
  return { status: res.status, code: res.headers.get("x-isomesh-error") };
};

describe("a service edge reads the gateway's identity fail-closed", () => {
  it.each([
    [
      "a blocked user, with every claim carried",
      {
        "x-isomesh-principal": `${ISS}/mallory`,
        "x-isomesh-claims": b64({ iss: ISS, sub: "mallory", role: "blocked", groups: Array(300).fill("g") }),
      },
      403,
      "rbac_denied",
    ],
    [
      "an allowed user",
      { "x-isomesh-principal": `${ISS}/ann`, "x-isomesh-claims": b64({ iss: ISS, sub: "ann" }) },
      200,
      null,
    ],
    ["no identity (anonymous)", {}, 200, null],
    ["a principal without its claims", { "x-isomesh-principal": `${ISS}/mallory` }, 403, "identity_invalid"],
    [
      "claims that cannot be read",
      { "x-isomesh-principal": `${ISS}/mallory`, "x-isomesh-claims": "%%%" },
      403,
      "identity_invalid",
    ],
    [
      "claims of someone else than the principal",
      { "x-isomesh-principal": `${ISS}/ann`, "x-isomesh-claims": b64({ iss: ISS, sub: "mallory", role: "blocked" }) },
      403,
      "identity_invalid",
    ],
  ])("from the gateway: %s → %i", async (_name, headers, status, code) => {
    expect(await send("gateway", headers)).toEqual({ status, code });
  });

  it("ignores identity headers from anyone but the gateway (an app's are stripped, even unreadable ones)", async () => {
    expect(await send("front", { "x-isomesh-principal": `${ISS}/mallory`, "x-isomesh-claims": "%%%" })).toEqual({
      status: 200,
      code: null,
    });
  });
});

import { Hono } from "hono";
import { z } from "zod";
import { KINDS, kindNames } from "../../../shared/resources/index.ts";
import type { AppEnv } from "./context.ts";

// GET /openapi.json: the admin API described for code generators and API explorers. Resource
// schemas come from the same zod schemas the API validates with, so they cannot drift.

type Op = {
  summary: string;
  role?: "viewer" | "editor";
  params?: string[];
  query?: Record<string, string>;
  body?: object;
  ok?: object;
  notFound?: string;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const obj = { type: "object" };

const ROUTES: Record<string, Record<string, Op>> = {
  "/v1/apply": {
    post: {
      summary:
        "Create or update resources (YAML multi-document or JSON); 422 lists every invalid field, nothing is stored",
      role: "editor",
      query: {
        dryRun: "true: return the diff without storing",
        wait: "true: answer when every edge runs the change",
        timeout: "how long to wait, e.g. 5s",
      },
      body: {
        content: {
          "application/yaml": { schema: { type: "string" } },
          "application/json": { schema: { oneOf: [ref("Resource"), { type: "array", items: ref("Resource") }] } },
        },
      },
      ok: ref("ApplyResult"),
    },
  },
  "/v1/resources": { get: { summary: "Every resource", ok: ref("ResourceList") } },
  "/v1/resources/{kind}": {
    get: {
      summary: "Resources of one kind (kubectl-style names: httproutes, httproute)",
      params: ["kind"],
      ok: ref("ResourceList"),
    },
  },
  "/v1/resources/{kind}/{name}": {
    get: { summary: "One resource", params: ["kind", "name"], ok: ref("Resource") },
    delete: { summary: "Delete one resource", role: "editor", params: ["kind", "name"], ok: ref("ApplyResult") },
  },
  "/v1/version": {
    get: {
      summary: "Current config version (+1 per accepted change)",
      ok: { type: "object", properties: { version: { type: "integer" } } },
    },
  },
  "/v1/history": {
    get: {
      summary: "Accepted changes, newest first: version, time, who, what",
      query: {
        limit: "how many versions (default 100, at most 1000)",
        full: "true: each change with its before/after documents",
      },
      ok: { type: "object", properties: { entries: { type: "array", items: ref("HistoryEntry") } } },
    },
  },
  "/v1/history/{version}": {
    get: {
      summary: "One version in full: each resource it changed, before and after (null where it did not exist)",
      params: ["version"],
      ok: ref("HistoryDetail"),
      notFound: "No such version in history",
    },
  },
  "/v1/rollback": {
    post: {
      summary: "Restore the config of an earlier version (as a new version)",
      role: "editor",
      body: json({ type: "object", properties: { version: { type: "integer" } }, required: ["version"] }),
      ok: ref("ApplyResult"),
    },
  },
  "/v1/analyze": {
    post: {
      summary: "Whole-config checks (like istioctl analyze) on the stored config, or with the posted resources applied",
      body: { content: { "application/yaml": { schema: { type: "string" } } } },
      ok: obj,
    },
  },
  "/v1/status": {
    get: {
      summary:
        "Which version every edge runs: synced, stale, rejected or idle (no live isolate), like istioctl proxy-status",
      ok: obj,
    },
  },
  "/v1/snapshots/{edge}": {
    get: { summary: "The compiled snapshot an edge runs (like istioctl proxy-config)", params: ["edge"], ok: obj },
  },
  "/metrics": {
    get: { summary: "Prometheus text format", ok: { content: { "text/plain": { schema: { type: "string" } } } } },
  },
  "/v1/stats": {
    get: {
      summary: "Golden signals per service and version",
      query: { window: "1m | 5m | 15m | 1h", service: "only this service" },
      ok: obj,
    },
  },
  "/v1/stats/history": {
    get: {
      summary: "Golden signals per service in 10 s steps (sparklines)",
      query: { window: "1m | 5m | 15m | 1h (default 5m)" },
      ok: obj,
    },
  },
  "/v1/splits": {
    get: {
      summary: "The split each service edge is configured to make, per rule, in percent (from the snapshots edges run)",
      ok: obj,
    },
  },
  "/v1/graph": {
    get: {
      summary: "Service graph: nodes and edges with golden signals",
      query: { window: "1m | 5m | 15m | 1h" },
      ok: obj,
    },
  },
  "/v1/traces": { get: { summary: "Recent traces", ok: obj } },
  "/v1/traces/{traceId}": { get: { summary: "One trace with its spans", params: ["traceId"], ok: obj } },
  "/v1/explain": {
    get: { summary: "Recent explained requests (x-isomesh-debug)", ok: obj },
    post: {
      summary: "Explain a synthetic request through the current config, without sending it",
      body: json(obj),
      ok: obj,
    },
  },
  "/v1/explain/{id}": {
    get: { summary: "One explained request: the decision tree across hops", params: ["id"], ok: obj },
  },
  "/v1/rollouts": { get: { summary: "Rollouts with their status", ok: ref("ResourceList") } },
  "/v1/rollouts/{name}": { get: { summary: "One Rollout", params: ["name"], ok: ref("Resource") } },
  "/v1/rollouts/{name}/{action}": {
    post: {
      summary: "pause, resume or abort a Rollout (a version only when the weights edges run change: abort)",
      role: "editor",
      params: ["name", "action"],
      ok: ref("ApplyResult"),
      notFound: "No such Rollout",
    },
  },
};

function operation(op: Op) {
  const parameters = [
    ...(op.params ?? []).map((name) => ({
      name,
      in: "path",
      required: true,
      schema: name === "kind" ? { type: "string", enum: kindNames } : { type: "string" },
    })),
    ...Object.entries(op.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  return {
    summary: op.summary,
    description: `Needs the ${op.role ?? "viewer"} role.`,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: op.body } : {}),
    responses: {
      200: { description: "OK", ...("content" in (op.ok ?? {}) ? op.ok : json(op.ok ?? obj)) },
      401: { description: "No valid token", ...json(ref("Error")) },
      403: { description: "The token's role does not allow this", ...json(ref("Error")) },
      ...(op.notFound ? { 404: { description: op.notFound, ...json(ref("Invalid")) } } : {}),
      ...(op.role === "editor"
        ? {
            409: { description: "If-Match did not match the current version", ...json(ref("Error")) },
            422: { description: "Invalid resources", ...json(ref("Invalid")) },
          }
        : {}),
    },
  };
}

let built: object | undefined;
function document(): object {
  const schema = (s: z.ZodType) => {
    const { $schema: _, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
    return rest;
  };
  const kinds = Object.fromEntries(Object.entries(KINDS).map(([k, s]) => [k, schema(s)]));
  return (built ??= {
    openapi: "3.1.0",
    info: {
      title: "isomesh admin API",
      version: "1",
      description:
        "Config, status and telemetry of an isomesh service mesh. Authorization: Bearer <admin token or OIDC JWT>.",
    },
    security: [{ bearer: [] }],
    paths: Object.fromEntries(
      Object.entries(ROUTES).map(([path, ops]) => [
        path,
        Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(op)])),
      ]),
    ),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        ...kinds,
        Resource: { oneOf: kindNames.map(ref) },
        ResourceList: { type: "object", properties: { items: { type: "array", items: ref("Resource") } } },
        ApplyResult: {
          type: "object",
          properties: {
            version: { type: "integer" },
            changes: { type: "array", items: obj },
            warnings: { type: "array", items: obj },
            republished: { type: "array", items: { type: "string" } },
          },
        },
        Change: {
          type: "object",
          properties: {
            kind: { type: "string" },
            name: { type: "string" },
            op: { type: "string", enum: ["added", "changed", "removed", "weights", "status"] },
            fields: { type: "array", items: { type: "string" } },
            note: { type: "string" },
          },
          required: ["kind", "name", "op"],
        },
        HistoryEntry: {
          type: "object",
          properties: {
            version: { type: "integer" },
            at: { type: "string", format: "date-time" },
            by: { type: "string" },
            note: { type: "string" },
            changes: { type: "array", items: ref("Change") },
          },
          required: ["version", "at", "by", "changes"],
        },
        HistoryDetail: {
          allOf: [
            ref("HistoryEntry"),
            {
              type: "object",
              properties: {
                resources: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      kind: { type: "string" },
                      name: { type: "string" },
                      before: { oneOf: [ref("Resource"), { type: "null" }] },
                      after: { oneOf: [ref("Resource"), { type: "null" }] },
                    },
                    required: ["kind", "name", "before", "after"],
                  },
                },
              },
              required: ["resources"],
            },
          ],
        },
        Error: {
          type: "object",
          properties: {
            error: {
              type: "object",
              properties: { code: { type: "string" }, message: { type: "string" } },
              required: ["code", "message"],
            },
          },
        },
        Invalid: {
          type: "object",
          properties: {
            errors: {
              type: "array",
              items: {
                type: "object",
                properties: { resource: { type: "string" }, path: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  });
}

/** Public (no token): it describes shapes, not the mesh's config. */
export const openapiRoutes = new Hono<AppEnv>();
openapiRoutes.get("/openapi.json", (c) => c.json(document()));

import * as z from "zod/mini";
import { IDENTIFIER, MAX_METHOD_NAME } from "../rpc/method.ts";

// The parts of an HTTPRoute match that compiled snapshots carry too. Written with zod/mini so the
// edge validates snapshots without zod's full build; the resource schemas (zod) embed these same
// schemas, so users and edges are held to one definition (and, with zod loaded, the same messages).

const MAX_REGEX = 256;
/**
 * A RegularExpression value: RE2 syntax, run by a linear-time engine (shared/regex/). Whether RE2
 * accepts it is checked at apply by the resources that hold one (shared/regex/validate.ts), where
 * RE2 is loaded: the edges, which validate snapshots with this same schema, run only the compiled
 * program the snapshot carries.
 */
const Regex = z
  .string()
  .check(z.minLength(1), z.maxLength(MAX_REGEX, `regular expressions are limited to ${MAX_REGEX} characters`));

const Path = z.string().check(z.startsWith("/", "path must start with /"));
export const PathMatch = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Exact"), value: Path }),
  z.strictObject({ type: z.literal("PathPrefix"), value: Path }),
  z.strictObject({ type: z.literal("RegularExpression"), value: Regex }),
]);

export const HeaderName = z
  .string()
  .check(z.minLength(1), z.maxLength(256), z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "invalid header name"));

export const HeaderMatch = z.union([
  z.strictObject({
    type: z._default(z.literal("Exact"), "Exact"),
    name: HeaderName,
    value: z.string().check(z.maxLength(4096)),
  }),
  z.strictObject({ type: z.literal("RegularExpression"), name: HeaderName, value: Regex }),
]);

const ParamName = z.string().check(z.minLength(1), z.maxLength(256));
export const QueryParamMatch = z.union([
  z.strictObject({
    type: z._default(z.literal("Exact"), "Exact"),
    name: ParamName,
    value: z.string().check(z.maxLength(4096)),
  }),
  z.strictObject({ type: z.literal("RegularExpression"), name: ParamName, value: Regex }),
]);

export const Method = z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

const RpcName = z.string().check(z.minLength(1), z.maxLength(MAX_METHOD_NAME));

/**
 * isomesh extension: a Workers RPC call, by entrypoint and method, as GRPCRoute's `method` matches
 * a gRPC call by service and method (GRPCRoute's service is the callee's entrypoint here: the
 * class a binding's `entrypoint:` names, `default` for the default export). `type` applies to
 * both names; an absent name matches any; at least one is required.
 */
export const RpcMatch = z
  .strictObject({
    type: z._default(z.enum(["Exact", "RegularExpression"]), "Exact"),
    entrypoint: z.optional(RpcName),
    method: z.optional(RpcName),
  })
  .check(
    z.superRefine((m, ctx) => {
      if (m.entrypoint === undefined && m.method === undefined)
        ctx.addIssue({ code: "custom", message: "an rpc match needs an entrypoint or a method (or both)" });
      for (const key of ["entrypoint", "method"] as const) {
        const v = m[key];
        if (v === undefined) continue;
        if (m.type === "Exact" && !IDENTIFIER.test(v))
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `${key} must be a JS identifier (an Exact match names one ${key})`,
          });
      }
    }),
  );
export type RpcMatch = z.infer<typeof RpcMatch>;

/** The default path match (`PathPrefix /`): no condition on the path at all. */
export const isCatchAllPath = (p: z.infer<typeof PathMatch>) => p.type === "PathPrefix" && p.value === "/";

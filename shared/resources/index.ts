import { z } from "zod";
import { HTTPRoute } from "./http-route.ts";
import { TrafficPolicy } from "./traffic-policy.ts";
import { RequestAuthentication } from "./request-authentication.ts";
import { AuthorizationPolicy } from "./authorization-policy.ts";
import { Rollout } from "./rollout.ts";
import { ExternalService } from "./external-service.ts";

/**
 * Every kind the admin API accepts. Adding a kind: a schema file beside this one and a line here;
 * the admin API, the store, `get`/`delete` and the compiler's input all pick it up from this table.
 */
export const KINDS = {
  HTTPRoute,
  TrafficPolicy,
  RequestAuthentication,
  AuthorizationPolicy,
  Rollout,
  ExternalService,
} as const;

export type Kind = keyof typeof KINDS;
export const kindNames = Object.keys(KINDS) as Kind[];

export const Resource = z.discriminatedUnion("kind", [
  HTTPRoute,
  TrafficPolicy,
  RequestAuthentication,
  AuthorizationPolicy,
  Rollout,
  ExternalService,
]);
export type Resource = z.infer<typeof Resource>;
export type ResourceOf<K extends Kind> = Extract<Resource, { kind: K }>;

/** Kind names are matched case-insensitively and by plural, like kubectl (`httproutes`, `httproute`). */
export function resolveKind(text: string): Kind | undefined {
  const t = text.toLowerCase();
  return kindNames.find(
    (k) =>
      k.toLowerCase() === t ||
      `${k.toLowerCase()}s` === t ||
      (k.toLowerCase().endsWith("y") && `${k.toLowerCase().slice(0, -1)}ies` === t),
  );
}

import type { z } from "zod";
import type { HeaderMatch } from "../resources/http-route.ts";

/**
 * Which requests a TrafficPolicy's fault injection applies to: every header match must hold
 * (a missing header compares as ""). Shared by the edge's fault stage and synthetic explain,
 * so both decide alike.
 */
export function faultHeadersMatcher(matches: z.infer<typeof HeaderMatch>[]): (headers: Headers) => boolean {
  const tests = matches.map((h) => {
    const name = h.name.toLowerCase();
    if (h.type === "RegularExpression") {
      const re = new RegExp(`^(?:${h.value})$`);
      return (hs: Headers) => re.test(hs.get(name) ?? "");
    }
    return (hs: Headers) => hs.get(name) === h.value;
  });
  return (hs) => tests.every((t) => t(hs));
}

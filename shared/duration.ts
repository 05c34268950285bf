import { z } from "zod";

// Gateway API duration (GEP-2257): one or more <int><unit>, units h, m, s, ms; e.g. "1h30m", "500ms".
const DURATION = /^(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** Milliseconds in a Gateway API duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(PART)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}

/** A duration field: accepts "7s", "500ms", "1m30s"; parses to milliseconds. */
export const Duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `invalid duration "${text}" (expected e.g. 500ms, 7s, 1m30s)` });
    return z.NEVER;
  }
  return ms;
});

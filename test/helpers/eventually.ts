import { inspect } from "node:util";

export type EventuallyOptions = {
  /** How long to keep trying (telemetry is flushed in batches about every second). */
  ms?: number;
  /** What is awaited, for the failure message (default: `ok`'s source). */
  what?: string;
  /** Pause between reads. */
  every?: number;
};

/**
 * Polls `read` until `ok` holds and returns that value, as vitest's `expect.poll` and `vi.waitFor`
 * do. A read or a check that throws counts as "not yet". When time runs out it throws, naming what
 * was awaited and the last value read (or the last error): a condition that never held fails the
 * test, whether or not the caller looks at the value.
 *
 * @example const stats = await eventually(() => admin("/v1/stats"), (s) => s.requests === 3, { what: "3 requests counted" });
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  ok: (v: T) => boolean,
  { ms = 8000, what, every = 200 }: EventuallyOptions = {},
): Promise<T> {
  const until = Date.now() + ms;
  let last: string;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
      last = `value: ${shown(value)}`;
    } catch (e) {
      last = `error: ${e instanceof Error ? e.message : shown(e)}`;
    }
    if (Date.now() >= until)
      throw new Error(`eventually: ${what ?? `\`${ok.toString()}\``} did not hold within ${ms} ms; last ${last}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const MAX_SHOWN = 4000;
const shown = (v: unknown) => {
  const text = inspect(v, { depth: 6, maxArrayLength: 50, maxStringLength: MAX_SHOWN, breakLength: 160 });
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
};

import { timingSafeEqual } from "node:crypto";
import { type TestStorage, testStorage } from "./sql-storage.ts";

// workerd's crypto.subtle extension, for code under test that compares digests (admin tokens).
const subtle = crypto.subtle as unknown as { timingSafeEqual?: (a: ArrayBuffer, b: ArrayBuffer) => boolean };
subtle.timingSafeEqual ??= (a, b) =>
  a.byteLength === b.byteLength && timingSafeEqual(new Uint8Array(a), new Uint8Array(b));

export type TestState = {
  ctx: DurableObjectState;
  storage: TestStorage;
  alarm: () => number | null;
  ready: () => Promise<void>;
};

/**
 * A Durable Object's `ctx` in process: SQLite storage (sql.js) with `transactionSync`, the alarm
 * as a value the test reads (and fires by calling the object's `alarm()`), and
 * `blockConcurrencyWhile` whose work `ready()` awaits.
 */
export async function testState(storage?: TestStorage): Promise<TestState> {
  const s = storage ?? (await testStorage());
  let alarm: number | null = null;
  const blocked: Promise<unknown>[] = [];
  const ctx = {
    storage: {
      sql: s.sql,
      transactionSync: s.transaction,
      setAlarm: async (at: number | Date) => void (alarm = Number(at)),
      deleteAlarm: async () => void (alarm = null),
      getAlarm: async () => alarm,
    },
    blockConcurrencyWhile: <T>(fn: () => Promise<T>) => {
      const run = fn();
      blocked.push(run);
      return run;
    },
    waitUntil: () => {},
  } as unknown as DurableObjectState;
  return { ctx, storage: s, alarm: () => alarm, ready: async () => void (await Promise.all(blocked)) };
}

/**
 * A Durable Object stub as workerd gives one: every method call answers a promise, and a throw
 * becomes a rejection (code that calls `.then`/`.catch` on a stub's answer runs in process too).
 */
export function rpcStub<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, name) {
      const v = Reflect.get(t, name) as unknown;
      return typeof v === "function"
        ? (...args: unknown[]) => Promise.resolve().then(() => (v as (...a: unknown[]) => unknown).apply(t, args))
        : v;
    },
  });
}

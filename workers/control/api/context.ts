import type { ControlEnv } from "../env.ts";

export type Role = "viewer" | "editor";
export type Principal = { name: string; role: Role };
export type AppEnv = { Bindings: ControlEnv; Variables: { principal: Principal } };

/** Errors of the admin API: `{error:{code,message}}` with a code users can search for. */
export const apiError = (code: string, message: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message, ...extra },
});

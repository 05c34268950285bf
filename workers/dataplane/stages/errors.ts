import { MeshError } from "../../../shared/errors.ts";
import type { FetchExchange, Stage } from "../exchange.ts";
import { AppFailure } from "./app.ts";

/** Turns errors raised by later stages into the mesh's JSON error responses (DESIGN §3). A fetch only: a call's refusal is thrown to its caller. */
export const errors =
  <T extends FetchExchange>(): Stage<T, T, Response> =>
  async (x, next) => {
    try {
      return await next(x);
    } catch (e) {
      if (e instanceof AppFailure) throw e.error;
      if (e instanceof MeshError) {
        if (x.record.on) x.record.note("error", e.code, { status: e.status, ...e.detail });
        return e.toResponse();
      }
      console.error(
        JSON.stringify({
          level: "error",
          msg: "edge stage failed",
          requestId: x.requestId,
          error: String(e),
          stack: (e as Error)?.stack,
        }),
      );
      return new MeshError(
        "upstream_failure",
        "the edge failed to handle the request",
        { requestId: x.requestId },
        502,
      ).toResponse();
    }
  };

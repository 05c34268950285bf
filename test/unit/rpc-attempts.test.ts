import { describe, expect, it } from "vitest";
import { MeshError } from "../../shared/errors.ts";
import { argumentKey, replayable } from "../../shared/rpc/args.ts";
import { callerError, inboundRefusal, notImplemented, rpcErrorStatus } from "../../shared/rpc/outcome.ts";

// The pure parts of an RPC call's path: how its end is counted, what the caller sees of the
// mesh's own errors, and keys read from arguments (the try loop is the fetch's: forward-call.test.ts).

const remote = (message: string, ctor: ErrorConstructor = Error) => Object.assign(new ctor(message), { remote: true });

describe("RPC outcomes", () => {
  it.each([
    ["an exception the callee threw", remote("boom"), 500],
    ["a binding failure (not remote)", new Error("Network connection lost."), 502],
    ["workerd's missing method", new TypeError('The RPC receiver does not implement the method "nope".'), 404],
    ["a mesh refusal", new MeshError("rbac_denied", "no"), 403],
    ["a mesh timeout", new MeshError("upstream_timeout", "late"), 504],
  ])("%s counts as %i", (_name, e, status) => expect(rpcErrorStatus(e)).toBe(status));

  it("reads the method out of workerd's error, and only out of that error", () => {
    expect(notImplemented(new TypeError('The RPC receiver does not implement the method "nope".'))).toBe("nope");
    expect(notImplemented(new Error('The RPC receiver does not implement the method "nope".'))).toBeUndefined();
    expect(notImplemented(new TypeError("something else"))).toBeUndefined();
  });

  it("the caller gets the code at the start of the message (only messages and built-in classes cross a binding)", () => {
    const e = callerError(new MeshError("rbac_denied", "web may not call ratings.reset"));
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe("isomesh rbac_denied: web may not call ratings.reset");
    expect(callerError(new MeshError("no_method", 'ratings/v1 does not implement the RPC method "x"'))).toBeInstanceOf(
      TypeError,
    );
  });

  it("inline: the caller's half reads back only the inbound half's refusals, and only from across the binding", () => {
    const denied = inboundRefusal(remote("isomesh rbac_denied: web may not call ratings.reset"));
    expect(denied).toMatchObject({ code: "rbac_denied", status: 403, message: "web may not call ratings.reset" });
    expect(inboundRefusal(remote("isomesh rate_limited: rate limit 2 per 60000 ms exceeded"))?.status).toBe(429);
    expect(inboundRefusal(new Error("isomesh rbac_denied: thrown in this isolate"))).toBeUndefined();
    expect(inboundRefusal(remote("isomesh upstream_timeout: the callee's own call timed out"))).toBeUndefined();
    expect(inboundRefusal(remote("boom"))).toBeUndefined();
  });
});

describe("RPC arguments", () => {
  it.each([
    [["u1"], 0, undefined, "u1"],
    [[42], 0, undefined, "42"],
    [[10n], 0, undefined, "10"],
    [[true], 0, undefined, "true"],
    [[{ user: "ann", n: 1 }], 0, "user", "ann"],
    [[{ user: { nested: 1 } }], 0, "user", undefined],
    [[new Map([["user", "x"]])], 0, "user", undefined], // only plain objects
    [[() => 1], 0, undefined, undefined],
    [[null], 0, undefined, undefined],
    [[], 0, undefined, undefined],
    [["a", "b"], 1, undefined, "b"],
  ])("argumentKey(%o, %i, %s) = %s", (args, index, field, key) =>
    expect(argumentKey(args as unknown[], index, field)).toBe(key),
  );

  it("a key is bounded: a long string argument counts by its first 512 characters", () => {
    expect(argumentKey(["x".repeat(10_000)], 0)).toHaveLength(512);
  });

  it("arguments holding a stream (or a body) cannot be sent twice; stubs and plain values can", () => {
    expect(replayable([1, "a", { x: [1, 2] }, () => 1])).toBe(true);
    expect(replayable([new ReadableStream()])).toBe(false);
    expect(replayable([{ body: new Response("x").body }])).toBe(false);
    expect(replayable([[new Request("http://x/")]])).toBe(false);
  });
});

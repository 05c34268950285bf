import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { call, RPC_MANIFEST } from "../helpers/rpc.ts";

// Workers RPC through the mesh, end to end: an app (web) calls methods on its binding to another
// service (ratings, two versions built from test/fixtures/rpc), through ratings' edge, as real
// Workers in workerd. What workerd itself does with such calls is pinned in rpc-runtime.test.ts.
let mesh: TestMesh;
const scenario = async (name: string) =>
  (await mesh.get(`/scenario/${name}`)).json<{ value?: unknown; error?: { ctor: string; message: string } }>();

beforeAll(async () => {
  mesh = await startTestMesh(RPC_MANIFEST);
  await mesh.apply(gatewayRouteTo("web"));
});
afterAll(() => mesh?.stop());

describe("Workers RPC through the mesh", () => {
  it("a method call reaches a version of the callee and returns its value", async () => {
    const { value } = await call(mesh, "RATINGS", "getRating", [7]);
    expect(value).toMatchObject({ id: 7, stars: 3 });
    expect(["v1", "v2"]).toContain(value.version);
  });

  it("what crosses a binding crosses the mesh: clones, streams both ways, stubs and calls on them, callbacks, property reads", async () => {
    expect((await scenario("clone")).value).toEqual({ m: "a", d: 0, big: "10" });
    expect((await scenario("streamOut")).value).toBe("streamed through the mesh");
    expect((await scenario("streamIn")).value).toBe("sent through the mesh");
    expect((await scenario("rpcTarget")).value).toBe(2);
    expect((await scenario("pipelined")).value).toBe(1);
    expect((await scenario("callback")).value).toBe(42);
    expect(["v1", "v2"]).toContain((await scenario("read")).value);
  });

  it("an exception the callee throws arrives as it threw it (class and message)", async () => {
    const { error } = await call(mesh, "RATINGS", "boom");
    expect(error).toMatchObject({ ctor: "RangeError", remote: true });
    expect(error!.message).toMatch(/^boom from v[12]$/);
  });

  it("a named entrypoint: the binding's `entrypoint:` reaches that class of the picked version", async () => {
    expect((await call(mesh, "RATINGS_ADMIN", "reset", [3])).value).toMatch(/^reset 3 on v[12]$/);
  });

  it("a method the callee does not export: an error naming the service, the version and the method", async () => {
    const { error } = await call(mesh, "RATINGS", "nope", [1]);
    expect(error).toMatchObject({ ctor: "TypeError" });
    expect(error!.message).toMatch(/^isomesh no_method: ratings\/v[12] does not implement the RPC method "nope"/);
  });

  it("the edge's control entrypoint is not reachable from an app's binding", async () => {
    const { error } = await scenario("notViaMesh");
    expect(error?.message).toMatch(/no_method|does not implement/);
  });

  it("fetch on the same binding still goes through the fetch pipeline", async () => {
    // web's own fetch handler is the RPC driver; the gateway's route reaches it over HTTP.
    const res = await mesh.get("/scenario/read");
    expect(res.headers["x-isomesh-backend"]).toBe("web/v1");
    expect((await scenario("fetchRatings")).value).toMatch(/^ratings v[12] over HTTP$/);
  });
});

import type { TestMesh } from "./mesh.ts";

/** A mesh where web calls ratings (two versions built from test/fixtures/rpc) by Workers RPC. */
export const RPC_MANIFEST = `name: rpc
services:
  - name: web
    versions: [{ name: v1, worker: test/fixtures/rpc/client.ts }]
    calls: [ratings, { service: ratings, entrypoint: Admin }]
  - name: ratings
    versions:
      - { name: v1, worker: test/fixtures/rpc/ratings.ts }
      - { name: v2, worker: test/fixtures/rpc/ratings-v2.ts }
`;

export type RpcAnswer = { value?: any; error?: { ctor: string; message: string; remote: boolean } };

/** One RPC call made by web (test/fixtures/rpc/client.ts): its value, or the error web caught (class, message, remote). */
export async function call(
  m: TestMesh,
  binding: string,
  method: string,
  args: unknown[] = [],
  opts: { read?: boolean } = {},
): Promise<RpcAnswer> {
  const res = await m.get("/call", {
    method: "POST",
    body: JSON.stringify({ binding, method, args, read: opts.read }),
    headers: { "content-type": "application/json" },
  });
  if (res.status !== 200) throw new Error(`web answered ${res.status}: ${res.body}`);
  return res.json<RpcAnswer>();
}

import { WorkerEntrypoint } from "cloudflare:workers";

// The RPC benchmark's callee: one method answering a ~1 KB object, and the same as HTTP.
const ITEM = {
  items: Array.from({ length: 16 }, (_, i) => ({ id: i, name: `item-${i}`, price: 10 + i, tags: ["a", "b"] })),
};
const BODY = JSON.stringify(ITEM).slice(0, 1024);

export default class App extends WorkerEntrypoint {
  get(id: number) {
    return { id, ...ITEM };
  }
  override fetch() {
    return new Response(BODY, { headers: { "content-type": "application/json" } });
  }
}

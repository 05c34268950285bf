// The benchmark app: a 1 KB JSON answer, the same in every configuration.
const BODY = JSON.stringify({
  items: Array.from({ length: 16 }, (_, i) => ({ id: i, name: `item-${i}`, price: 10 + i, tags: ["a", "b"] })),
}).slice(0, 1024);
export default {
  fetch: () => new Response(BODY, { headers: { "content-type": "application/json" } }),
} satisfies ExportedHandler;

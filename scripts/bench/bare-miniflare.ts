// A bare Miniflare starting N trivial workers: the floor `isomesh dev` is compared with.
// node --import tsx scripts/bench/bare-miniflare.ts N [compatibility-date]
// Prints "ready <url>" once every worker is up, then serves until interrupted.
import { Miniflare } from "miniflare";

const [count = "10", compatibilityDate = "2025-04-01"] = process.argv.slice(2);
const script = `export default { fetch() { return new Response("ok"); } };`;
const workers = Array.from({ length: Number(count) }, (_, i) => ({
  name: `w${i}`,
  modules: true,
  script,
  compatibilityDate,
}));
const mf = new Miniflare({ host: "127.0.0.1", port: 0, cf: false, workers });
const url = await mf.ready;
console.log(`ready ${url.origin}`);
const stop = () => void mf.dispose().then(() => process.exit(0));
process.removeAllListeners("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

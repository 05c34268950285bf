// Why this exists: a Worker's static assets are served by the platform's asset router before the
// Worker runs, so in the inline data plane (no edge in front) a request for a file would skip the
// inbound half: authentication, authorization and rate limits would not apply to assets. So `gen`
// sets `run_worker_first` on an inline version with assets (every request reaches its wrapper), and
// after the inbound half this module routes the request as the asset router would have with the
// app's own settings (workers-shared/router-worker): its `run_worker_first` rules, then whether an
// asset answers the request (`unstable_canFetch`, the router's own question), the asset worker
// itself deciding html_handling, not_found_handling, _headers and _redirects.

/** An inline version's own assets settings (what `gen` writes into its config, InlineConfig.assets). */
export type InlineAssets = {
  /** The binding that reaches its assets: the app's own (`assets.binding`), or the mesh's hidden one. */
  binding: string;
  /** The app's own `run_worker_first`: true, false, or its rules (`!` excludes, `*` matches any characters). */
  runWorkerFirst: boolean | string[];
};

type AssetsBinding = Fetcher & { unstable_canFetch?: (request: Request) => Promise<boolean> };

/** A `run_worker_first` rule as the router matches it: the whole path, `*` any characters. */
const rule = (glob: string) =>
  new RegExp(
    `^${glob
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );

/**
 * Routes a request that passed the inbound half to the app's assets or to its Worker, as the
 * platform's asset router would. Built once per isolate from the config; the hot path is a few
 * regular expressions and, for a path no rule names, one call to the asset worker.
 */
export function assetsRouter(assets: InlineAssets) {
  const rules = Array.isArray(assets.runWorkerFirst) ? assets.runWorkerFirst : [];
  const toAssets = rules.filter((r) => r.startsWith("!")).map((r) => rule(r.slice(1)));
  const toWorker = rules.filter((r) => !r.startsWith("!")).map(rule);
  return async (
    request: Request,
    env: Record<string, unknown>,
    worker: ((r: Request) => Promise<Response>) | undefined,
  ): Promise<Response> => {
    const binding = env[assets.binding] as AssetsBinding;
    if (!worker) return binding.fetch(request); // no fetch handler: the router serves assets alone
    if (assets.runWorkerFirst === true) return worker(request);
    const path = new URL(request.url).pathname;
    if (toAssets.some((r) => r.test(path))) return binding.fetch(request);
    if (toWorker.some((r) => r.test(path))) return worker(request);
    // The router's own question, without the body (it would consume it).
    const probe = new Request(request.url, { headers: request.headers, method: request.method });
    return (await binding.unstable_canFetch!(probe)) ? binding.fetch(request) : worker(request);
  };
}

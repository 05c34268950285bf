/**
 * How each command of the README and docs/ is run by test/e2e/docs-commands.test.ts: in order, as
 * written, on a mesh started the way the guide starts it (with `--port 0 --state <fresh folder>`
 * added, and the printed URLs put where the guide has 127.0.0.1:8787 and :8788). A command that
 * is not run here says why (NOT_RUN); test/unit/docs-commands.test.ts fails on a command in the
 * docs that is in neither, or on one here that the docs no longer have.
 */
export type Step = {
  command: string;
  /** Exit code (default 0) and what the output must show. */
  code?: number;
  out?: RegExp;
  /** Run instead of `command`, and why (e.g. `watch` redraws forever: run once). */
  as?: { command: string; why: string };
  /** Runs in the background until the scenario's next `stop: true` step. */
  background?: boolean;
  stop?: boolean;
};

export type Scenario = { name: string; start: string; steps: Step[] };

export const SCENARIOS: Scenario[] = [
  {
    name: "Bookinfo (README, traffic, control plane, observability, debugging, security, operator)",
    start: "npm start",
    steps: [
      { command: "npx isomesh apply -f examples/bookinfo/tasks/reviews-v3.yaml --wait", out: /every edge runs it/ },
      { command: "npx isomesh history", out: /HTTPRoute\/reviews/ },
      { command: "npx isomesh rollback 1" },
      { command: "npx isomesh explain -H 'end-user: jason' http://127.0.0.1:8787/productpage", out: /route/ },
      { command: "npx isomesh status", out: /config version \d+/ },
      { command: "npx isomesh diff -f examples/bookinfo/tasks/traffic-shifting-50.yaml", code: 1, out: /\+/ },
      { command: "npx isomesh analyze" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/request-routing.yaml --wait" },
      {
        command:
          "npx isomesh explain --service reviews --caller productpage -H 'end-user: jason' http://reviews/reviews/0",
        out: /v2/,
      },
      { command: "npx isomesh explain --service reviews --caller productpage -H 'end-user: jason' http://reviews/" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/traffic-shifting-50.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/reviews-v3.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/request-timeouts.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/fault-delay.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/fault-abort.yaml --wait" },
      { command: "npx isomesh delete TrafficPolicy ratings" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/circuit-breaking.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/mirroring.yaml --wait" },
      { command: "for i in $(seq 20); do curl -s -o /dev/null http://127.0.0.1:8787/productpage; done" },
      { command: "npx isomesh stat reviews", out: /v2 \(mirror\)/ },
      { command: "npx isomesh stat", out: /gateway +\(ingress\)/ },
      { command: "npx isomesh stat ratings", out: /ratings/ },
      { command: "npx isomesh graph", out: /gateway +→ +productpage/ },
      {
        command: "npx isomesh graph -o dot | dot -Tsvg > mesh.svg",
        as: { command: "npx isomesh graph -o dot", why: "Graphviz's dot is not a dependency: the DOT is checked" },
        out: /^digraph isomesh/,
      },
      {
        command: "npx isomesh explain --send -H 'cookie: session=jason' http://127.0.0.1:8787/productpage",
        out: /reviews/,
      },
      {
        command:
          "npx isomesh explain --send -H \"authorization: Bearer $(node --import tsx scripts/demo-token.ts jason)\" -H 'cookie: session=jason' http://127.0.0.1:8787/productpage",
        out: /gateway/,
      },
      { command: "npx isomesh apply -f examples/bookinfo/security/require-jwt.yaml --wait" },
      { command: "curl -i http://127.0.0.1:8787/productpage", out: /403/ },
      { command: "TOKEN=$(npx tsx scripts/demo-token.ts jason)" },
      { command: 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/productpage', out: /Book Details/ },
      { command: 'curl -H "Authorization: Bearer nope" -i http://127.0.0.1:8787/productpage', out: /401/ },
      { command: "curl -s http://127.0.0.1:8787/productpage", out: /rbac_denied/ },
      { command: "npx isomesh explain http://127.0.0.1:8787/productpage", out: /denied/ },
      { command: "npx isomesh apply -f examples/bookinfo/security/ratings-from-reviews.yaml --wait" },
      { command: "npx isomesh apply -f examples/bookinfo/security/deny-admin.yaml" },
      // The operator's guide: traffic in the background, the canary, its status.
      {
        command: "while true; do curl -s -o /dev/null http://127.0.0.1:8787/productpage; sleep 0.05; done",
        background: true,
      },
      { command: "npx isomesh apply -f examples/bookinfo/tasks/canary-v3.yaml --wait" },
      {
        command: "watch -n1 npx isomesh rollout status",
        as: { command: "npx isomesh rollout status", why: "watch redraws it every second, forever: run once" },
        out: /reviews-v3/,
        stop: true,
      },
    ],
  },
  {
    name: "the shop (README's 'Mesh your existing Workers project', docs/shop.md, debugging)",
    start: "npx isomesh dev -m examples/shop/mesh.yaml",
    steps: [
      { command: "curl -s http://127.0.0.1:8787/catalog/products", out: /Pour-over kettle/ },
      {
        command:
          "curl -s -X POST -H 'x-user: ann' -H 'content-type: application/json' -d '{\"productId\": 2, \"qty\": 1}' http://127.0.0.1:8787/cart/items",
        out: /"totalCents":4500/,
      },
      { command: "curl -s -H 'x-user: ann' http://127.0.0.1:8787/cart", out: /Pour-over kettle/ },
      { command: "curl -s -X POST -H 'x-user: ann' http://127.0.0.1:8787/orders", out: /"status":"accepted"/ },
      { command: "curl -s -H 'x-user: ann' http://127.0.0.1:8787/receipts", out: /orderIds/ },
      {
        command:
          'npx wrangler d1 execute shop-catalog --local --persist-to .isomesh/shop -c examples/shop/catalog/wrangler.jsonc --command "SELECT id, name, price_cents FROM products"',
        out: /Burr grinder/,
      },
      { command: "npx isomesh apply -f examples/shop/security/catalog-read-only.yaml --wait" },
      {
        command:
          'curl -s -X POST -H \'content-type: application/json\' -d \'{"name": "Mug", "priceCents": 900}\' http://127.0.0.1:8787/catalog/products',
        out: /rbac_denied/,
      },
      { command: "npx isomesh apply -f examples/shop/security/catalog-read-only.yaml" },
      { command: "npx isomesh apply -f examples/shop/tasks/catalog-canary.yaml --wait" },
      { command: "npx isomesh stat catalog", out: /catalog/ },
      { command: "npx isomesh apply -f examples/shop/tasks/catalog-rpc.yaml --wait" },
      { command: "npx isomesh explain --service catalog --caller cart --rpc getProduct", out: /v2/ },
      { command: "npx isomesh apply -f examples/shop/security/cart-checkout.yaml --wait" },
      { command: "npx isomesh explain --service cart --caller orders --rpc Checkout.items", out: /ALLOW/ },
      { command: "npx isomesh graph", out: /cart/ },
      // docs/traffic.md: CORS and session persistence, on the shop.
      { command: "npx isomesh apply -f examples/shop/tasks/storefront-cors.yaml --wait" },
      {
        command:
          "curl -s -i -X OPTIONS -H 'Origin: https://app.shop.example' -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type, x-user' http://127.0.0.1:8787/cart/items",
        out: /^HTTP\/1\.1 200[^]*access-control-allow-origin: https:\/\/app\.shop\.example[^]*access-control-allow-credentials: true/im,
      },
      {
        command:
          "curl -s -i -H 'Origin: https://evil.example' http://127.0.0.1:8787/catalog/products | grep -ci '^access-control-'",
        code: 1,
        out: /^0\s*$/,
      },
      {
        command:
          "npx isomesh explain -X OPTIONS -H 'Origin: https://app.shop.example' -H 'Access-Control-Request-Method: POST' http://127.0.0.1:8787/cart/items",
        out: /preflight answered here/,
      },
      { command: "npx isomesh apply -f examples/shop/tasks/catalog-sessions.yaml --wait" },
      {
        command: "curl -s -i -c /tmp/shop-cookies http://127.0.0.1:8787/catalog/products | grep -i '^set-cookie'",
        out: /^set-cookie: catalog-version=catalog\/v[12]\.[0-9a-z]+\.[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax/im,
      },
      {
        command:
          "for i in 1 2 3 4 5; do curl -s -i -b /tmp/shop-cookies http://127.0.0.1:8787/catalog/products | grep -i '^x-isomesh-backend'; done",
        // Five times the same version: the cookie keeps the session on it.
        out: /^x-isomesh-backend: (catalog\/v[12])\s*(?:^x-isomesh-backend: \1\s*){4}$/im,
      },
    ],
  },
  {
    name: "Bookinfo with egress (security guide)",
    start: "npx isomesh dev -m examples/bookinfo/mesh-egress.yaml",
    steps: [
      { command: "npx isomesh apply -f examples/bookinfo/tasks/egress-google-books.yaml --wait" },
      {
        command: "npx isomesh explain --service egress --caller details https://www.googleapis.com/books/v1/volumes",
        out: /google-books/,
      },
      { command: "npx isomesh stat" },
    ],
  },
  {
    name: "Bookinfo with external authorization (security guide)",
    start: "npx isomesh dev -m examples/bookinfo/mesh-ext-authz.yaml",
    steps: [
      { command: "npx isomesh apply -f examples/bookinfo/security/ext-authz.yaml --wait" },
      { command: "curl -s http://127.0.0.1:8787/productpage", out: /denied by ext_authz for not found header/ },
      {
        command: "curl -s -o /dev/null -w '%{http_code}\\n' -H 'x-ext-authz: allow' http://127.0.0.1:8787/productpage",
        out: /^200$/m,
      },
      {
        command: "npx isomesh explain --service productpage --caller gateway http://productpage/productpage",
        out: /sample-ext-authz-http/,
      },
    ],
  },
];

const CI = "CI runs it (.ci/run)";
const ACCOUNT = "needs a Cloudflare account and the network: not run here";
const OWN = "names the reader's own project or numbers; the same command on the examples is run";
const KEYS = "test/e2e/keys.test.ts runs the rotation (rotate, list, retire) on a generated mesh's key file";

/** Commands of the docs that no test here runs, and why. */
export const NOT_RUN: Record<string, string> = {
  "npm install": "installs the dependencies: CI runs `npm ci` (.ci/run)",
  "npm ci": CI,
  "npm test": CI,
  "npm run test:inline": CI,
  "npm run test:scale": CI,
  "npm run bench -- --smoke": CI,
  "npm run bench": "about 7 minutes of both cores: run by hand (CI runs `npm run bench -- --smoke`)",
  "npm run typecheck": "the first step of `npm test` (CI)",
  "npm run format": "rewrites files; `npm run typecheck` checks them (CI)",
  "npm run build:ui": "rebuilds the committed bundle; test/unit/dashboard-bundle.test.ts fails when it is stale",
  "node --import tsx scripts/bench/start-time.ts examples/bookinfo/mesh.yaml /productpage 1":
    "a benchmark (minutes): its figures are in the README with this command",
  "node --import tsx scripts/bench/first-start.ts":
    "a benchmark (a clone, npm ci and a first start: minutes): its figures are in the README with this command",
  "npm start -- --port 9000": "a fixed port: tests never take one (`npm start` is run with --port 0)",
  "npm start -- --data-plane inline": "`npm run test:inline` runs every mesh suite inline (CI)",
  "npx isomesh dev -m examples/shop/mesh.yaml --data-plane inline":
    "`npm run test:inline` runs the shop's suite inline (CI)",
  "npx isomesh gen -m mesh.yaml": OWN,
  "npx isomesh dev -m mesh.yaml": OWN,
  "npx isomesh deploy -m mesh.yaml --dry-run": OWN,
  "npx isomesh deploy --dry-run":
    "test/e2e/deploy-dry-run.test.ts runs `deploy --dry-run` (a full build of every worker)",
  "npx isomesh deploy -m examples/bookinfo/mesh.yaml --dry-run":
    "test/e2e/deploy-dry-run.test.ts runs `deploy --dry-run` (a full build of every worker)",
  "npx isomesh apply -f policy.yaml": `${OWN} (test/e2e/cli.test.ts and test/workers/strict-fields.test.ts)`,
  "npx isomesh diff -f change.yaml": `${OWN} (test/e2e/cli.test.ts)`,
  "npx isomesh apply -f change.yaml --dry-run": `${OWN} (test/e2e/cli.test.ts)`,
  "npx isomesh apply -f change.yaml --if-match 12": `${OWN} (test/e2e/cli.test.ts)`,
  "npx isomesh history 13": `${OWN} (test/e2e/cli.test.ts)`,
  "npx isomesh rollback 12": `${OWN} (test/e2e/cli.test.ts)`,
  'curl -H "Authorization: Bearer $ISOMESH_TOKEN" $ISOMESH_ADMIN/v1/history/12': `${OWN} (test/e2e/cli.test.ts)`,
  "npx isomesh <command>": "a placeholder",
  "npx isomesh apply --wait": "the flag, named in a sentence",
  "export ISOMESH_ADMIN=http://127.0.0.1:8788 ISOMESH_TOKEN=…": "the test sets both from the line the start printed",
  "npx wrangler login": ACCOUNT,
  "npx isomesh keys rotate -m …": "elided in the README: the full command is in docs/control-plane.md's rotation",
  "npx isomesh keys secret | npx wrangler secret put BEACON_SIGNING_KEY --name <mesh>-control": ACCOUNT,
  "npx isomesh keys rotate -m mesh.yaml": KEYS,
  "npx isomesh deploy -m mesh.yaml": ACCOUNT,
  "npx isomesh keys retire -m mesh.yaml": KEYS,
  "npx isomesh keys list -m mesh.yaml": KEYS,
  "node --import tsx scripts/bench/beacon.ts": "a benchmark: `npm run bench` runs it (BENCHMARKS.md, section 3)",
  "npx wrangler kv namespace create bookinfo-snapshots": ACCOUNT,
  "npx isomesh deploy -m examples/bookinfo/mesh.yaml --kv-id <id>": ACCOUNT,
  "npx wrangler secret put ADMIN_TOKENS --name bookinfo-control": ACCOUNT,
  "npx wrangler secret put API_KEY --name shop-orders-v1": ACCOUNT,
  "npx wrangler mtls-certificate upload --cert cert.pem --key key.pem --name partner": ACCOUNT,
  "curl -s http://127.0.0.1:8787/api/v1/products/0": "calls Google Books: needs the internet",
};

import { resolve } from "node:path";

const app = (name: string) => resolve("workers/bookinfo", name);

/** The Bookinfo manifest with absolute worker paths, for meshes started from a temporary folder. */
export const bookinfoManifest = () => `name: bookinfo
services:
  - name: productpage
    versions: [{ name: v1, worker: ${app("productpage")} }]
    calls: [details, reviews]
  - name: details
    versions: [{ name: v1, worker: ${app("details")} }]
  - name: reviews
    versions:
      - { name: v1, worker: ${app("reviews")}, vars: { VERSION: v1 } }
      - { name: v2, worker: ${app("reviews")}, vars: { VERSION: v2, STAR_COLOR: black } }
      - { name: v3, worker: ${app("reviews")}, vars: { VERSION: v3, STAR_COLOR: red } }
    calls: [ratings]
  - name: ratings
    versions: [{ name: v1, worker: ${app("ratings")} }]
`;

export const bookinfoGateway = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bookinfo }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: Exact, value: /productpage } }, { path: { type: PathPrefix, value: /api/v1/products } }]
      backendRefs: [{ name: productpage }]
`;

export const allReviewsV2 = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - backendRefs: [{ name: reviews, version: v2 }]
`;

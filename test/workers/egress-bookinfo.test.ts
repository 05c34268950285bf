import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bookinfoGateway } from "../helpers/bookinfo.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Istio's external-services task on Bookinfo: details v2 asks "Google Books" (here a local fake)
// through the egress edge. The task file is the repo's, with the host and port swapped for the fake's.

const app = (name: string) => resolve("workers/bookinfo", name);
let mesh: TestMesh;
let books: Server;
let port: number;
const asked: string[] = [];

beforeAll(async () => {
  books = createServer((req, res) => {
    asked.push(`${req.method} ${req.url} traceparent=${req.headers.traceparent ? "yes" : "no"}`);
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        items: [
          {
            volumeInfo: {
              authors: ["William Shakespeare"],
              publishedDate: "2002",
              printType: "BOOK",
              pageCount: 80,
              publisher: "Dover Publications",
              language: "en",
              industryIdentifiers: [
                { type: "ISBN_10", identifier: "0486424618" },
                { type: "ISBN_13", identifier: "9780486424613" },
              ],
            },
          },
        ],
      }),
    );
  });
  await new Promise<void>((r) => books.listen(0, "127.0.0.1", r));
  port = (books.address() as AddressInfo).port;
  mesh = await startTestMesh(`name: bookinfo
services:
  - name: productpage
    versions: [{ name: v1, worker: ${app("productpage")} }]
    calls: [details, reviews]
  - name: details
    versions:
      - { name: v1, worker: ${app("details")} }
      - { name: v2, worker: ${app("details")}, vars: { EXTERNAL_BOOK_SERVICE: "true", EXTERNAL_BOOK_URL: "http://localhost:${port}" } }
    egress: true
  - name: reviews
    versions: [{ name: v1, worker: ${app("reviews")}, vars: { VERSION: v1 } }]
    calls: [ratings]
  - name: ratings
    versions: [{ name: v1, worker: ${app("ratings")} }]
`);
  await mesh.apply(bookinfoGateway + "---\n" + readFileSync("examples/bookinfo/details-v1.yaml", "utf8"));
});
afterAll(async () => {
  await mesh?.stop();
  books?.close();
});

const task = () =>
  readFileSync("examples/bookinfo/tasks/egress-google-books.yaml", "utf8")
    .replaceAll("www.googleapis.com", "localhost")
    .replace("{ number: 443, protocol: HTTPS }", `{ number: ${port}, protocol: HTTP }`);

describe("Bookinfo: details v2 through the egress edge", () => {
  it("serves v1's built-in details before the task", async () => {
    const res = await mesh.get("/api/v1/products/0");
    expect(res.status).toBe(200);
    expect(res.json().publisher).toBe("PublisherA");
  });

  it("is denied egress by default once on v2, and the page says details are unavailable", async () => {
    await mesh.apply(readFileSync("examples/bookinfo/details-v1.yaml", "utf8").replace("version: v1", "version: v2"));
    const res = await mesh.get("/api/v1/products/0");
    expect(res.status).toBe(503);
    expect(asked).toEqual([]);
  });

  it("reaches the book service after the task, with trace context, and only details may", async () => {
    await mesh.apply(task());
    const res = await mesh.get("/api/v1/products/0");
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      author: "William Shakespeare",
      publisher: "Dover Publications",
      "ISBN-13": "9780486424613",
      type: "paperback",
    });
    expect(asked).toEqual(["GET /books/v1/volumes?q=isbn:0486424618 traceparent=yes"]);
    const explained = (
      await mesh.admin("/v1/explain", {
        method: "POST",
        body: JSON.stringify({
          service: "egress",
          caller: "reviews",
          url: `http://localhost:${port}/books/v1/volumes`,
        }),
      })
    ).json();
    expect(explained.hops[0].decisions.at(-1)).toMatchObject({ stage: "authz", error: "rbac_denied" });
  });
});

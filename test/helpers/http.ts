import { request as httpRequest } from "node:http";
import { createServer } from "node:net";

export type HttpResponse = { status: number; headers: Record<string, string>; body: string; json<T = any>(): T };

/**
 * An HTTP request with full control of headers (Node's fetch silently replaces Host, so hostname
 * routing is tested the way curl users do it: `-H Host:`).
 */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time: a kept-alive socket that workerd closed during a pause would fail the request ("socket hang up").
    const req = httpRequest(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        resolve({ status: res.statusCode ?? 0, headers, body, json: () => JSON.parse(body) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** A TCP port that was free a moment ago: only for a port number nothing will bind (servers bind port 0 and read theirs back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

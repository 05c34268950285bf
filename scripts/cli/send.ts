import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * Sends one request and returns its status and headers. Uses node:http, not fetch: fetch
 * silently replaces a Host header, and `-H 'Host: …'` is how users test hostname routing.
 */
export function send(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target.toString(), { method, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

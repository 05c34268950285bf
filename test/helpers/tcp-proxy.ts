import { connect, createServer, type Socket } from "node:net";

export type TcpProxy = { url: string; down(): void; up(): void; close(): Promise<void> };

/**
 * A loopback TCP proxy in front of a server, that a test can take down (every connection, open or
 * new, is reset, as when the server is gone) and bring back on the same address. The port is the
 * one the OS gave it (listen on 0), so nothing races for it.
 */
export function tcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let isDown = false;
  const server = createServer((client) => {
    if (isDown) return void client.resetAndDestroy();
    const upstream = connect(Number(port), hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
      resolve({
        url,
        down() {
          isDown = true;
          for (const s of open) s.resetAndDestroy();
          open.clear();
        },
        up() {
          isDown = false;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

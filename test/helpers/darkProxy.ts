/**
 * A TCP proxy in front of a loopback fake server that can "go dark": from then on it forwards
 * nothing in either direction and accepts new connections without ever answering, which is what a
 * host that vanished off the network looks like to a client (no RST, no FIN: every request hangs
 * until the client's own timeout). Closing a fake server instead would answer ECONNREFUSED at
 * once, the easy case.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface DarkProxy {
  /** http://127.0.0.1:<port> plus the upstream URL's path. */
  url: string;
  goDark(): void;
  close(): Promise<void>;
}

export async function startDarkProxy(upstreamUrl: string): Promise<DarkProxy> {
  const up = new URL(upstreamUrl);
  let dark = false;
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (dark) {
      client.pause();
      return;
    }
    const upstream = connect(Number(up.port), up.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const path = up.pathname === '/' ? '' : up.pathname.replace(/\/$/, '');
  return {
    url: `http://127.0.0.1:${port}${path}`,
    goDark() {
      dark = true;
      for (const [c, u] of pairs.splice(0)) {
        c.unpipe(u);
        u.unpipe(c);
        c.pause();
        u.pause();
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

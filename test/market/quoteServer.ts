/** A real HTTP server on 127.0.0.1:0 for adapter tests; records every request it receives. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface QuoteServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function startQuoteServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void,
): Promise<QuoteServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves the GBK lines of `body` whose code was requested, as Tencent/Sina do. */
export function gbkRecordsFor(url: string, lines: Buffer[], keyOf: (code: string) => string): Buffer {
  const codes = decodeURIComponent(url)
    .replace(/^.*[=]/, '')
    .split(',');
  const picked = lines.filter((l) => codes.some((c) => l.includes(keyOf(c))));
  return Buffer.concat(picked.flatMap((l) => [l, Buffer.from('\n')]));
}

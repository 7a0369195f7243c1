/**
 * A small round-robin reverse proxy (node:http), standing in for a load balancer
 * in front of several Latchkey processes. An upstream that refuses a connection
 * is marked down and the request goes to the next one (nothing was sent, so it
 * is safe to retry); a request cut mid-way is answered 502, as a load balancer
 * would. Each response says which upstream served it (x-upstream) and the proxy
 * keeps the sequence.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReverseProxy {
  url: string;
  /** Upstream index that served each proxied request, in order. */
  served: number[];
  close(): Promise<void>;
}

export async function startProxy(upstreams: () => string[]): Promise<ReverseProxy> {
  const served: number[] = [];
  const down = new Set<number>();
  let next = 0;

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, tries: number): void {
    const targets = upstreams();
    let index = next++ % targets.length;
    for (let skip = 0; skip < targets.length && down.has(index); skip++) index = (index + 1) % targets.length;
    const target = new URL(targets[index] as string);
    const headers = { ...req.headers, host: req.headers.host ?? target.host, 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-forwarded-proto': 'http' };
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false }, (response) => {
      served.push(index);
      res.writeHead(response.statusCode ?? 502, { ...response.headers, 'x-upstream': String(index) });
      response.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && tries < targets.length) {
        down.add(index);
        forward(req, body, res, tries + 1);
        return;
      }
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    upstream.end(body);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

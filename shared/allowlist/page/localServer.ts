/**
 * The allowlist page and API on a local HTTP server, for the demo's `--serve` and the browser
 * tests: Node's http server in front of the same route table and handlers the Functions host runs
 * (shared/allowlist/routes.ts), through @azure/functions' own HttpRequest. Binds to loopback only.
 * There is no App Service authentication here: requests carry no principal, so only a configured
 * development principal (ALLOWLIST_DEV_PRINCIPAL) gets in, or a test that sets
 * x-ms-client-principal itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { AllowlistApiDeps } from '../api';
import { matchRoute } from '../routes';

export interface LocalPageServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  server: Server;
  close(): Promise<void>;
}

/** Bodies beyond this are cut off before the handler (which refuses anything over 64 KB anyway). */
const MAX_LOCAL_BODY = 256 * 1024;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_LOCAL_BODY) break;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function send(response: ServerResponse, result: HttpResponseInit): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((result.headers ?? {}) as Record<string, string>)) headers[k] = String(v);
  let body: string | Buffer = '';
  if (result.jsonBody !== undefined) {
    body = JSON.stringify(result.jsonBody);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json; charset=utf-8';
  } else if (typeof result.body === 'string') body = result.body;
  response.writeHead(result.status ?? 200, headers);
  response.end(body);
}

export async function startLocalPageServer(deps: AllowlistApiDeps, options: { port?: number; log?: (line: string) => void } = {}): Promise<LocalPageServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const matched = matchRoute(url.pathname, req.method ?? 'GET');
      if (!matched) return send(res, { status: 404, body: 'not found', headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
      if ('allowed' in matched) return send(res, { status: 405, body: 'method not allowed', headers: { Allow: matched.allowed.join(', ') } });
      const text = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: url.href,
        headers,
        query: Object.fromEntries(url.searchParams),
        params: matched.params,
        ...(text ? { body: { string: text } } : {}),
      });
      const context = new InvocationContext({ functionName: matched.route.name, logHandler: (level, ...args) => options.log?.(`[${level}] ${args.map(String).join(' ')}`) });
      return send(res, await matched.route.handler(request, context, deps));
    })().catch((error: unknown) => {
      options.log?.(`local page server: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

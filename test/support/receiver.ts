/**
 * A scripted HTTP receiver on 127.0.0.1:0 for delivery tests: each request gets the next scripted
 * response (status, headers, or `hang` to never answer); every request is recorded with its
 * headers and exact body. `verifyWith` checks Standard Webhooks signatures with the official
 * `standardwebhooks` library on every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type Scripted = { status: number; headers?: Record<string, string>; body?: string } | { hang: true };

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The status answered (null: the request was left hanging). */
  status: number | null;
  /** Set when verifyWith is given: the verified payload, or the verification error. */
  verified?: { ok: true; payload: unknown } | { ok: false; error: string };
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** Responses for the next requests, in order; after them, `fallback`. */
  script(...responses: Scripted[]): void;
  /** Changes the answer after the scripted ones (a receiver going down or coming back). */
  setFallback(response: Scripted): void;
  close(): Promise<void>;
}

export async function startReceiver(options: { fallback?: Scripted; verifyWith?: string; path?: string } = {}): Promise<Receiver> {
  const queue: Scripted[] = [];
  const requests: Received[] = [];
  const hanging: ServerResponse[] = [];
  let fallback: Scripted = options.fallback ?? { status: 202 };
  const verifier = options.verifyWith ? new Webhook(options.verifyWith) : null;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const record: Received = { method: req.method ?? '', path: req.url ?? '', headers, body, status: null };
      if (verifier) {
        try {
          record.verified = { ok: true, payload: verifier.verify(body, headers) };
        } catch (error) {
          record.verified = { ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      }
      requests.push(record);
      const next = queue.shift() ?? fallback;
      if ('hang' in next) {
        hanging.push(res);
        return;
      }
      record.status = next.status;
      res.writeHead(next.status, next.headers ?? {});
      res.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? '/hook?sig=TOPSECRETSIGNATURE123'}`,
    requests,
    script: (...responses) => queue.push(...responses),
    setFallback: (response) => {
      fallback = response;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

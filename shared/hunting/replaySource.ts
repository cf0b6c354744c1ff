/**
 * Hunting sources that answer from recorded results instead of Defender: an in-process
 * ReplayHuntingSource (tests, and the demo when no HTTP is wanted) and a real local HTTP server
 * speaking Graph's runHuntingQuery contract, so the demo and tests can run the production
 * GraphHuntingClient end to end on loopback with authentication switched off.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normaliseHuntingResults } from './graphClient';
import type { HuntingQueryRequest, HuntingQueryResults, HuntingSource } from './types';

export class ReplayHuntingSource implements HuntingSource {
  /** Every request received, in order, for assertions. */
  readonly requests: HuntingQueryRequest[] = [];
  private readonly results: HuntingQueryResults;

  constructor(results: HuntingQueryResults) {
    // Copied in and out, so neither the caller's fixture nor one answer can change the next answer.
    this.results = structuredClone(results);
  }

  /** From a saved Graph response (`{schema, results}`, with or without `@odata.context`, any casing). */
  static fromGraphResponse(json: unknown): ReplayHuntingSource {
    return new ReplayHuntingSource(normaliseHuntingResults(json));
  }

  async runHuntingQuery(request: HuntingQueryRequest, signal?: AbortSignal): Promise<HuntingQueryResults> {
    signal?.throwIfAborted();
    this.requests.push({ ...request });
    return structuredClone(this.results);
  }
}

// ---------------------------------------------------------------------------------------------
// Local Graph server
// ---------------------------------------------------------------------------------------------

export interface LocalGraphRequest {
  method: string;
  /** Path and query string as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** `Query` from the body, when the body was a valid runHuntingQuery request. */
  query?: string;
  /** `Timespan` from the body, when present. */
  timespan?: string;
}

export interface LocalGraphReply {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as it is (to fake malformed answers); anything else as JSON. */
  body?: unknown;
}

export interface LocalGraphServerOptions {
  /** `pascal` answers with `Schema`/`Results` and `Name`/`Type`, as some of Microsoft's examples do. */
  keyCasing?: 'camel' | 'pascal';
  /** Overrides the answer to a runHuntingQuery request (429s, 500s, ...); undefined = normal answer. */
  respond?: (request: LocalGraphRequest) => LocalGraphReply | undefined;
}

export interface LocalGraphServer {
  /** `http://127.0.0.1:<port>`: give it to GraphHuntingClient with authentication 'none'. */
  baseUrl: string;
  requests: LocalGraphRequest[];
  close(): Promise<void>;
}

const API_PATH = '/v1.0/security/runhuntingquery';
const MAX_BODY_BYTES = 1024 * 1024;

function graphError(status: number, code: string, message: string): LocalGraphReply {
  return { status, body: { error: { code, message, innerError: { date: new Date().toISOString() } } } };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: LocalGraphReply): void {
  const text = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'request-id': randomUUID(),
    ...reply.headers,
  });
  res.end(text);
}

function pickString(body: Record<string, unknown>, key: string): unknown {
  const match = Object.keys(body).find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  return match === undefined ? undefined : body[match];
}

function shapeResults(results: HuntingQueryResults, baseUrl: string, casing: 'camel' | 'pascal'): unknown {
  const pascal = casing === 'pascal';
  return {
    '@odata.context': `${baseUrl}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults`,
    [pascal ? 'Schema' : 'schema']: results.schema.map((column) =>
      pascal ? { Name: column.name, Type: column.type } : { name: column.name, type: column.type },
    ),
    [pascal ? 'Results' : 'results']: results.results,
  };
}

/**
 * Starts a node:http server on 127.0.0.1, port 0 (the OS picks a free one), that implements
 * `POST /v1.0/security/runHuntingQuery` by answering with `results` in Graph's response shape.
 * Request bodies are validated as Graph would (a JSON object with a string `Query`).
 */
export async function startLocalGraphServer(
  results: HuntingQueryResults,
  options: LocalGraphServerOptions = {},
): Promise<LocalGraphServer> {
  const fixture = structuredClone(results);
  const requests: LocalGraphRequest[] = [];
  let baseUrl = '';

  async function handle(req: IncomingMessage): Promise<LocalGraphReply> {
    const url = req.url ?? '/';
    const path = url.split('?')[0]?.toLowerCase() ?? '';
    const body = await readBody(req);
    const recorded: LocalGraphRequest = { method: req.method ?? '', url, headers: req.headers, body: body ?? '' };
    requests.push(recorded);

    if (path !== API_PATH) return graphError(404, 'BadRequest', `Resource not found for the segment '${url}'.`);
    if (req.method !== 'POST') return graphError(405, 'BadRequest', `${req.method ?? ''} is not allowed on ${url}.`);
    if (body === undefined) return graphError(413, 'RequestEntityTooLarge', 'The request body is too large.');

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return graphError(400, 'BadRequest', 'The request body is not valid JSON.');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return graphError(400, 'BadRequest', 'The request body must be a JSON object.');
    }
    const query = pickString(json as Record<string, unknown>, 'Query');
    const timespan = pickString(json as Record<string, unknown>, 'Timespan');
    if (typeof query !== 'string' || query.trim() === '') {
      return graphError(400, 'BadRequest', "The 'Query' parameter is required and must be a non-empty string.");
    }
    if (timespan !== undefined && typeof timespan !== 'string') {
      return graphError(400, 'BadRequest', "The 'Timespan' parameter must be a string.");
    }
    recorded.query = query;
    if (timespan !== undefined) recorded.timespan = timespan;

    const override = options.respond?.(recorded);
    if (override) return override;
    return { status: 200, body: shapeResults(fixture, baseUrl, options.keyCasing ?? 'camel') };
  }

  const server = createServer((req, res) => {
    handle(req).then(
      (reply) => send(res, reply),
      (error: unknown) => send(res, graphError(500, 'InternalServerError', error instanceof Error ? error.message : String(error))),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${address.port}`;

  return {
    baseUrl,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // fetch keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

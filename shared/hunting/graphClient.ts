/**
 * The production HuntingSource: Microsoft Graph `POST /security/runHuntingQuery` through
 * @microsoft/microsoft-graph-client. This module owns the HTTP contract (body `{Query, Timespan}`,
 * headers, per-request timeout), the mapping of every failure onto the errors in errors.ts, and
 * the normalisation of Graph's answer into HuntingQueryResults.
 *
 * The graph client's default middleware chain is deliberately not used: its RetryHandler silently
 * retries 429/503 (burning the 45 calls/minute quota and the cycle's deadline behind the
 * scheduler's back) and its RedirectHandler would follow redirects with our token. The chain here
 * is failure capture → authentication (Entra only) → fetch, and every answer is read raw, so the
 * status, `Retry-After` and the body text reach the error mapping untouched.
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { Client, GraphError, ResponseType } from '@microsoft/microsoft-graph-client';
import type { Context, Middleware, MiddlewareOptions } from '@microsoft/microsoft-graph-client';
import { resolveGraphEndpoint } from './clouds';
import type { ResolvedGraphEndpoint } from './clouds';
import {
  HuntingAuthError,
  HuntingConfigurationError,
  HuntingError,
  HuntingNetworkError,
  HuntingQueryError,
  HuntingQuotaError,
  HuntingResponseError,
  HuntingServerError,
  HuntingTimeoutError,
} from './errors';
import type { GraphErrorDetails, HuntingResponseProblem } from './errors';
import { parseRetryAfter, parseRunAgainIn } from './retryAfter';
import type { HuntingQueryRequest, HuntingQueryResults, HuntingSchemaColumn, HuntingSource } from './types';

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_USER_AGENT = 'codesign-hunt';
export const RUN_HUNTING_QUERY_PATH = '/security/runHuntingQuery';

export interface GraphHuntingClientOptions {
  /** Graph origin, e.g. `https://graph.microsoft.com` or a national cloud (see clouds.ts). */
  baseUrl: string;
  /** Required for 'entra'; its token is requested for `<baseUrl>/.default`. */
  credential?: TokenCredential;
  /** 'none' is refused unless baseUrl is loopback: it exists for the demo and tests only. */
  authentication: 'entra' | 'none';
  /** Per request, including reading the body. Defender itself stops a query after about 200 s. */
  timeoutMs?: number;
  apiVersion?: 'v1.0';
  /** Replaces global fetch (tests); global fetch is looked up per request so interceptors work. */
  fetch?: typeof fetch;
  userAgent?: string;
  /** Clock for HTTP-date `Retry-After` values. */
  now?: () => Date;
}

// ---------------------------------------------------------------------------------------------
// Normalisation of Graph's answer
// ---------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property by exact name first, then case-insensitively (Graph's examples use both casings). */
function readKey(object: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(object, key)) return object[key];
  const lower = key.toLowerCase();
  const match = Object.keys(object).find((candidate) => candidate.toLowerCase() === lower);
  return match === undefined ? undefined : object[match];
}

function responseError(
  message: string,
  problem: HuntingResponseProblem,
  details: GraphErrorDetails,
  cause?: unknown,
): HuntingResponseError {
  return new HuntingResponseError(`Malformed runHuntingQuery answer: ${message}`, problem, { ...details, cause });
}

function normalise(json: unknown, details: GraphErrorDetails): HuntingQueryResults {
  if (!isRecord(json)) {
    throw responseError(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}.`, 'not-object', details);
  }
  const rawSchema = readKey(json, 'schema');
  if (rawSchema === undefined || rawSchema === null) {
    throw responseError('no "schema" member.', 'missing-schema', details);
  }
  if (!Array.isArray(rawSchema)) throw responseError('"schema" is not an array.', 'bad-schema', details);
  const schema: HuntingSchemaColumn[] = rawSchema.map((column: unknown, index) => {
    if (!isRecord(column)) throw responseError(`schema[${index}] is not an object.`, 'bad-schema', details);
    const name = readKey(column, 'name');
    const type = readKey(column, 'type');
    if (typeof name !== 'string' || name === '') {
      throw responseError(`schema[${index}] has no string "name".`, 'bad-schema', details);
    }
    if (typeof type !== 'string') throw responseError(`schema[${index}] ("${name}") has no string "type".`, 'bad-schema', details);
    return { name, type };
  });
  const rawResults = readKey(json, 'results');
  if (rawResults === undefined || rawResults === null) {
    throw responseError('no "results" member.', 'missing-results', details);
  }
  if (!Array.isArray(rawResults)) throw responseError('"results" is not an array.', 'bad-results', details);
  const results: Record<string, unknown>[] = [];
  rawResults.forEach((row: unknown, index) => {
    // Row keys are column names chosen by the query: they are kept exactly as Graph sent them.
    if (!isRecord(row)) throw responseError(`results[${index}] is not an object.`, 'bad-results', details);
    results.push(row);
  });
  return { schema, results };
}

/**
 * Turns a parsed Graph runHuntingQuery answer (bare `{schema, results}` or with `@odata.context`,
 * any key casing) into HuntingQueryResults. Pure; throws HuntingResponseError. The CLI's
 * `explain FILE` and the replay source use it on saved responses.
 */
export function normaliseHuntingResults(json: unknown): HuntingQueryResults {
  return normalise(json, {});
}

// ---------------------------------------------------------------------------------------------
// HTTP failure → named error
// ---------------------------------------------------------------------------------------------

const BODY_KEPT_CHARS = 64 * 1024;
const RESULT_SIZE_EXCEEDED =
  /allowed result size|result size limit|result set (?:has )?exceeded|E_QUERY_RESULT_SET_TOO_LARGE/i;

function preview(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

interface ParsedErrorBody {
  code?: string;
  message?: string;
  requestId?: string;
}

/** Graph's `{"error": {"code", "message", "innerError": {"request-id"}}}`, or the inner object alone. */
function parseErrorBody(text: string): ParsedErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isRecord(json)) return {};
  const inner = readKey(json, 'error');
  const error = isRecord(inner) ? inner : json;
  const code = readKey(error, 'code');
  const message = readKey(error, 'message');
  const innerError = readKey(error, 'innerError');
  const requestId = isRecord(innerError) ? readKey(innerError, 'request-id') : undefined;
  return {
    ...(typeof code === 'string' && code !== '' ? { code } : {}),
    ...(typeof message === 'string' && message !== '' ? { message } : {}),
    ...(typeof requestId === 'string' ? { requestId } : {}),
  };
}

/** What an HTTP failure's `cause` holds: the answer itself, so nothing Graph said is lost. */
export interface GraphHttpFailure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function headersRecord(headers: Headers | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  headers?.forEach((value, key) => {
    record[key] = value;
  });
  return record;
}

export interface HttpFailureInput {
  status: number;
  headers?: Headers;
  body: string;
  now: Date;
  clientRequestId?: string;
}

/** Maps a non-2xx runHuntingQuery answer onto the error tree. Exported for unit tests. */
export function classifyHttpFailure(input: HttpFailureInput): HuntingError {
  const { status, headers, body, now } = input;
  const parsed = parseErrorBody(body);
  const graphMessage = parsed.message ?? (body.trim() === '' ? undefined : preview(body));
  const requestId = headers?.get('request-id') ?? parsed.requestId;
  const cause: GraphHttpFailure = {
    status,
    headers: headersRecord(headers),
    body: body.length > BODY_KEPT_CHARS ? body.slice(0, BODY_KEPT_CHARS) : body,
  };
  const details = {
    status,
    cause,
    ...(parsed.code === undefined ? {} : { graphCode: parsed.code }),
    ...(graphMessage === undefined ? {} : { graphMessage }),
    ...(requestId === undefined || requestId === null ? {} : { requestId }),
    ...(input.clientRequestId === undefined ? {} : { clientRequestId: input.clientRequestId }),
  };
  const said = [parsed.code, graphMessage].filter((part) => part !== undefined).join(': ');
  const answered = `HTTP ${status}${said === '' ? '' : ` (${said})`}`;

  if (status === 401 || status === 403) {
    return new HuntingAuthError(`Microsoft Graph refused the hunting query with ${answered}.`, details);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers?.get('retry-after'), now);
    const runAgainInMs = parseRunAgainIn(body);
    const error = new HuntingQuotaError(`Defender advanced hunting quota reached: ${answered}.`, {
      ...details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(runAgainInMs === undefined ? {} : { runAgainInMs }),
    });
    return error;
  }
  if (status === 408) {
    return new HuntingTimeoutError(`Graph timed the hunting query out: ${answered}.`, details);
  }
  if (status === 400 || status === 413) {
    const resultSizeExceeded = RESULT_SIZE_EXCEEDED.test(`${parsed.code ?? ''} ${graphMessage ?? ''}`);
    return new HuntingQueryError(
      `Defender rejected the hunting query: ${answered}.` +
        (resultSizeExceeded ? ' The result is too large; query a smaller time window.' : ''),
      { ...details, resultSizeExceeded },
    );
  }
  if (status >= 500) {
    return new HuntingServerError(`Graph failed to run the hunting query: ${answered}.`, details);
  }
  const location = headers?.get('location');
  return new HuntingError(
    `Unexpected answer to the hunting query: ${answered}${location ? `, redirecting to ${location}` : ''}.`,
    false,
    details,
  );
}

// ---------------------------------------------------------------------------------------------
// Middleware
// ---------------------------------------------------------------------------------------------

/**
 * Per-request state handed to the middleware through the graph client's MiddlewareControl. The
 * graph client wraps anything a middleware throws into a GraphError that keeps only the name and
 * stack; recording the original here lets the real credential or network error become `cause`,
 * and the stage tells a credential failure from a network one.
 */
class RequestState implements MiddlewareOptions {
  stage: 'prepared' | 'authenticating' | 'sending' = 'prepared';
  failed = false;
  failure: unknown = undefined;
}

function stateOf(context: Context): RequestState | undefined {
  const option = context.middlewareControl?.getMiddlewareOptions(RequestState);
  return option instanceof RequestState ? option : undefined;
}

/** First in the chain: remembers the original failure before the graph client wraps it. */
class FailureCaptureMiddleware implements Middleware {
  private next: Middleware | undefined;

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('FailureCaptureMiddleware needs a fetch middleware after it.');
    const state = stateOf(context);
    if (state) state.stage = 'authenticating';
    try {
      await this.next.execute(context);
    } catch (error) {
      if (state) {
        state.failed = true;
        state.failure = error;
      }
      throw error;
    }
  }
}

/**
 * Puts the credential's bearer token on the request. Ours rather than the graph client's
 * AuthenticationHandler, which only attaches tokens to https URLs: a local Graph server on
 * loopback (tests, benchmarks) must see the token too, to tell tenants apart by its `tid` as Graph
 * does. The client sends only to its own base URL and never follows redirects, so the token goes
 * nowhere else.
 */
class BearerTokenMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('BearerTokenMiddleware needs a fetch middleware after it.');
    const token = await this.credential.getToken(this.scope);
    if (!token?.token) throw new Error(`The credential returned no token for ${this.scope}.`);
    const value = `Bearer ${token.token}`;
    if (typeof Request !== 'undefined' && context.request instanceof Request) {
      context.request.headers.set('Authorization', value);
    } else {
      context.options ??= {};
      const headers = context.options.headers;
      if (headers instanceof Headers) headers.set('Authorization', value);
      else if (Array.isArray(headers)) context.options.headers = [...headers.filter(([k]) => k.toLowerCase() !== 'authorization'), ['Authorization', value]];
      else context.options.headers = { ...(headers ?? {}), Authorization: value };
    }
    await this.next.execute(context);
  }
}

/** Last in the chain: one fetch, no retry, no redirect following. */
class FetchMiddleware implements Middleware {
  constructor(private readonly fetchImpl: typeof fetch | undefined) {}

  async execute(context: Context): Promise<void> {
    const state = stateOf(context);
    if (state) state.stage = 'sending';
    const fetchFn = this.fetchImpl ?? globalThis.fetch;
    context.response = await fetchFn(context.request, context.options);
  }
}

// ---------------------------------------------------------------------------------------------
// Deadline: per-request timeout combined with the caller's signal
// ---------------------------------------------------------------------------------------------

const ABORTED: unique symbol = Symbol('aborted');

class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onCallerAbort = (): void => {
    if (this.caller && !this.controller.signal.aborted) {
      this.callerAborted = true;
      this.controller.abort(this.caller.reason);
    }
  };
  timedOut = false;
  callerAborted = false;

  constructor(
    readonly timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      if (this.controller.signal.aborted) return;
      this.timedOut = true;
      this.controller.abort(new DOMException(`runHuntingQuery timed out after ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Settles with `work` or rejects as soon as the deadline aborts. Needed because not every step
   * takes a signal: the credential's getToken, called by BearerTokenMiddleware,
   * does not, and must not hold a request past its timeout.
   */
  async race<T>(work: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      onAbort = () => resolve(ABORTED);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const outcome = await Promise.race([work.then((value) => ({ value })), aborted]);
      if (outcome === ABORTED) {
        // The abandoned work may still reject later; that must not become an unhandled rejection.
        work.catch(() => undefined);
        throw signal.reason;
      }
      return outcome.value;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

// Duck-typed rather than instanceof: a custom fetch (tests, other realms) may bring its own Response class.
function isFetchResponse(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Response>).status === 'number' &&
    typeof (value as Partial<Response>).text === 'function' &&
    typeof (value as Partial<Response>).headers === 'object'
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export class GraphHuntingClient implements HuntingSource {
  readonly endpoint: ResolvedGraphEndpoint;
  readonly timeoutMs: number;
  readonly apiVersion: 'v1.0';
  private readonly client: Client;
  private readonly userAgent: string;
  private readonly now: () => Date;

  constructor(options: GraphHuntingClientOptions) {
    this.endpoint = resolveGraphEndpoint(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new HuntingConfigurationError(`timeoutMs must be a positive integer, got ${this.timeoutMs}.`);
    }
    this.apiVersion = options.apiVersion ?? 'v1.0';
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.now = options.now ?? (() => new Date());

    const middleware: Middleware[] = [new FailureCaptureMiddleware()];
    if (options.authentication === 'none') {
      if (!this.endpoint.isLoopback) {
        throw new HuntingConfigurationError(
          `authentication 'none' is only allowed against a loopback Graph base URL (127.0.0.0/8, localhost, [::1]); ` +
            `${this.endpoint.baseUrl} is not loopback. Use authentication 'entra' with a credential.`,
        );
      }
      if (options.credential) {
        throw new HuntingConfigurationError(`authentication 'none' was given a credential; choose one or the other.`);
      }
    } else if (options.authentication === 'entra') {
      if (!options.credential) {
        throw new HuntingConfigurationError(`authentication 'entra' needs a credential (see createTokenCredential).`);
      }
      if (!this.endpoint.baseUrl.startsWith('https://') && !this.endpoint.isLoopback) {
        // A bearer token never travels in clear text off this machine.
        throw new HuntingConfigurationError(`authentication 'entra' needs an https Graph base URL, got ${this.endpoint.baseUrl}.`);
      }
      middleware.push(new BearerTokenMiddleware(options.credential, this.endpoint.scope));
    } else {
      throw new HuntingConfigurationError(`authentication must be 'entra' or 'none', got ${JSON.stringify(options.authentication)}.`);
    }
    middleware.push(new FetchMiddleware(options.fetch));

    this.client = Client.initWithMiddleware({
      middleware,
      baseUrl: this.endpoint.baseUrl,
      defaultVersion: this.apiVersion,
    });
  }

  get url(): string {
    return `${this.endpoint.baseUrl}/${this.apiVersion}${RUN_HUNTING_QUERY_PATH}`;
  }

  async runHuntingQuery(request: HuntingQueryRequest, signal?: AbortSignal): Promise<HuntingQueryResults> {
    signal?.throwIfAborted();
    const clientRequestId = randomUUID();
    const body: { Query: string; Timespan?: string } = { Query: request.query };
    if (request.timespan !== undefined) body.Timespan = request.timespan;

    const deadline = new RequestDeadline(this.timeoutMs, signal);
    const state = new RequestState();
    try {
      const response = await deadline.race(this.post(body, clientRequestId, deadline.signal, state));
      const text = await deadline.race(response.text());
      return this.interpret(response, text, clientRequestId);
    } catch (error) {
      throw this.failure(error, state, deadline, clientRequestId);
    } finally {
      deadline.dispose();
    }
  }

  private async post(body: object, clientRequestId: string, signal: AbortSignal, state: RequestState): Promise<Response> {
    const response: unknown = await this.client
      .api(RUN_HUNTING_QUERY_PATH)
      .version(this.apiVersion)
      .headers({
        // The docs ask for charset=utf-8 when the query has non-ANSI characters; command lines do.
        'Content-Type': 'application/json; charset=utf-8',
        Accept: 'application/json',
        'User-Agent': this.userAgent,
        'client-request-id': clientRequestId,
      })
      .option('signal', signal)
      .option('redirect', 'manual')
      .middlewareOptions([state])
      // RAW: the graph client hands back the Response for every status instead of parsing it.
      .responseType(ResponseType.RAW)
      .post(JSON.stringify(body));
    if (!isFetchResponse(response)) {
      throw new HuntingError('The Graph client returned no HTTP response.', false, { clientRequestId });
    }
    return response;
  }

  private interpret(response: Response, text: string, clientRequestId: string): HuntingQueryResults {
    const requestId = response.headers.get('request-id');
    const details: GraphErrorDetails = {
      status: response.status,
      clientRequestId,
      ...(requestId === null ? {} : { requestId }),
    };
    if (response.status < 200 || response.status > 299) {
      throw classifyHttpFailure({ status: response.status, headers: response.headers, body: text, now: this.now(), clientRequestId });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw responseError(`HTTP ${response.status} body is not JSON: "${preview(text, 120)}".`, 'not-json', details, error);
    }
    return normalise(json, details);
  }

  /** Whatever went wrong, as the error (or the caller's abort reason) runHuntingQuery rejects with. */
  private failure(error: unknown, state: RequestState, deadline: RequestDeadline, clientRequestId: string): unknown {
    const original = state.failed ? state.failure : error;
    if (deadline.timedOut) {
      return new HuntingTimeoutError(`runHuntingQuery to ${this.url} got no complete answer within ${this.timeoutMs} ms.`, {
        timeoutMs: this.timeoutMs,
        clientRequestId,
        cause: original,
      });
    }
    // The caller cancelled: hand back its own reason, as fetch does, so it recognises it.
    if (deadline.callerAborted) return deadline.signal.reason;
    if (error instanceof HuntingError) return error;
    // Only reachable if the response type were changed from RAW: keep the mapping honest anyway.
    if (error instanceof GraphError && error.statusCode > 0) {
      const body: unknown = error.body;
      return classifyHttpFailure({
        status: error.statusCode,
        ...(error.headers ? { headers: error.headers } : {}),
        body: typeof body === 'string' ? body : JSON.stringify(body ?? ''),
        now: this.now(),
        clientRequestId,
      });
    }
    if (state.failed && state.stage === 'authenticating') {
      return new HuntingAuthError(`Could not get a Microsoft Graph token for ${this.endpoint.scope}: ${describe(original)}.`, {
        clientRequestId,
        cause: original,
      });
    }
    if (state.stage === 'sending') {
      return new HuntingNetworkError(`No answer from ${this.url}: ${describe(original)}.`, { clientRequestId, cause: original });
    }
    return new HuntingError(`The Graph client failed before sending the hunting query: ${describe(original)}.`, false, {
      clientRequestId,
      cause: original,
    });
  }
}

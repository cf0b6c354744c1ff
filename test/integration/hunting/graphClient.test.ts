/**
 * GraphHuntingClient against Graph's HTTP contract, intercepted with nock: method, path, JSON
 * body, bearer token, and every failure mapped onto the named errors — with no hidden retries.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import nock from 'nock';
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
} from '../../../shared/hunting/errors';
import { GraphHuntingClient } from '../../../shared/hunting/graphClient';
import type { GraphHuntingClientOptions } from '../../../shared/hunting/graphClient';

const BASE = 'https://graph.microsoft.com';
const PATH = '/v1.0/security/runHuntingQuery';
const QUERY = 'DeviceProcessEvents | where FileName =~ "makecert.exe" | take 2';
const NOW = new Date('2025-03-04T10:00:00Z');

/** Hands out a fixed token and records the scopes it was asked for. */
class FakeCredential implements TokenCredential {
  readonly requestedScopes: string[][] = [];
  constructor(private readonly failure?: Error) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.requestedScopes.push(Array.isArray(scopes) ? scopes : [scopes]);
    if (this.failure) throw this.failure;
    return { token: 'fake-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

// Graph v1.0 documentation, runHuntingQuery example 1 (camelCase keys, with @odata.context).
const CAMEL_ANSWER = {
  '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
  schema: [
    { name: 'Timestamp', type: 'DateTime' },
    { name: 'FileName', type: 'String' },
    { name: 'InitiatingProcessFileName', type: 'String' },
  ],
  results: [
    { Timestamp: '2024-03-26T09:39:50.7688641Z', FileName: 'cmd.exe', InitiatingProcessFileName: 'powershell.exe' },
    { Timestamp: '2024-03-26T09:39:49.4353788Z', FileName: 'cmd.exe', InitiatingProcessFileName: 'powershell.exe' },
  ],
};

// The same page's last example uses PascalCase schema entries; some answers capitalise the top level too.
const PASCAL_ANSWER = {
  Schema: CAMEL_ANSWER.schema.map(({ name, type }) => ({ Name: name, Type: type })),
  Results: CAMEL_ANSWER.results,
};

const EXPECTED = { schema: CAMEL_ANSWER.schema, results: CAMEL_ANSWER.results };

function graphError(code: string, message: string): object {
  return { error: { code, message, innerError: { 'request-id': 'rid-1', date: '2025-03-04T10:00:00' } } };
}

let credential: FakeCredential;

function makeClient(overrides: Partial<GraphHuntingClientOptions> = {}): GraphHuntingClient {
  return new GraphHuntingClient({
    baseUrl: BASE,
    authentication: 'entra',
    credential,
    timeoutMs: 5_000,
    userAgent: 'codesign-hunt-test',
    now: () => NOW,
    ...overrides,
  });
}

/** An interceptor that answers every attempt the same way and counts them. */
function countingReply(status: number, body: object | string, headers: Record<string, string> = {}): { calls: () => number } {
  let calls = 0;
  nock(BASE)
    .post(PATH)
    .times(5)
    .reply(() => {
      calls += 1;
      return [status, body, headers];
    });
  return { calls: () => calls };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

beforeAll(() => {
  nock.disableNetConnect();
});

beforeEach(() => {
  credential = new FakeCredential();
});

afterEach(() => {
  nock.cleanAll();
});

afterAll(() => {
  nock.enableNetConnect();
});

describe('request contract', () => {
  test('POSTs {Query, Timespan} with a bearer token for <base>/.default and returns the results', async () => {
    const scope = nock(BASE, {
      reqheaders: {
        authorization: 'Bearer fake-token',
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
        'user-agent': 'codesign-hunt-test',
        'client-request-id': /^[0-9a-f-]{36}$/,
      },
    })
      .post(PATH, { Query: QUERY, Timespan: '2025-03-04T09:00:00Z/2025-03-04T10:00:00Z' })
      .reply(200, CAMEL_ANSWER, { 'Content-Type': 'application/json' });

    const results = await makeClient().runHuntingQuery({ query: QUERY, timespan: '2025-03-04T09:00:00Z/2025-03-04T10:00:00Z' });

    expect(results).toEqual(EXPECTED);
    expect(scope.isDone()).toBe(true);
    expect(credential.requestedScopes).toEqual([['https://graph.microsoft.com/.default']]);
  });

  test('omits Timespan when the request has none', async () => {
    let seen: unknown;
    const scope = nock(BASE)
      .post(PATH, (body: unknown) => {
        seen = body;
        return true;
      })
      .reply(200, CAMEL_ANSWER);

    await makeClient().runHuntingQuery({ query: QUERY });

    expect(scope.isDone()).toBe(true);
    expect(seen).toEqual({ Query: QUERY });
  });

  test('reads PascalCase Schema/Results/Name/Type and leaves row keys as returned', async () => {
    nock(BASE).post(PATH).reply(200, PASCAL_ANSWER);
    await expect(makeClient().runHuntingQuery({ query: QUERY })).resolves.toEqual(EXPECTED);
  });

  test('a national cloud gets its own scope and still carries the token', async () => {
    const scope = nock('https://graph.microsoft.us', { reqheaders: { authorization: 'Bearer fake-token' } })
      .post(PATH, { Query: QUERY })
      .reply(200, CAMEL_ANSWER);

    await makeClient({ baseUrl: 'https://graph.microsoft.us' }).runHuntingQuery({ query: QUERY });

    expect(scope.isDone()).toBe(true);
    expect(credential.requestedScopes).toEqual([['https://graph.microsoft.us/.default']]);
  });

  test('a custom fetch replaces global fetch', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      return new Response(JSON.stringify(CAMEL_ANSWER), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    await expect(makeClient({ fetch: fakeFetch }).runHuntingQuery({ query: QUERY })).resolves.toEqual(EXPECTED);
    expect(calls).toEqual([`${BASE}${PATH}`]);
  });
});

describe('authentication failures', () => {
  test.each([401, 403])('%d → HuntingAuthError naming ThreatHunting.Read.All', async (status) => {
    nock(BASE).post(PATH).reply(status, graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'));

    const error = await failure(makeClient().runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingAuthError);
    const auth = error as HuntingAuthError;
    expect(auth.status).toBe(status);
    expect(auth.message).toContain('ThreatHunting.Read.All');
    expect(auth.message).toContain('admin consent');
    expect(auth.graphCode).toBe('Authorization_RequestDenied');
    expect(auth.retryable).toBe(false);
  });

  test('a credential that cannot produce a token → HuntingAuthError with the original as cause, nothing sent', async () => {
    const original = new Error('ManagedIdentityCredential: no managed identity endpoint found');
    original.name = 'CredentialUnavailableError';
    credential = new FakeCredential(original);
    const scope = nock(BASE).post(PATH).reply(200, CAMEL_ANSWER);

    const error = await failure(makeClient().runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingAuthError);
    expect((error as HuntingAuthError).cause).toBe(original);
    expect((error as HuntingAuthError).status).toBeUndefined();
    expect((error as HuntingAuthError).message).toMatch(/CredentialUnavailableError.*ThreatHunting\.Read\.All/);
    expect(scope.isDone()).toBe(false);
  });
});

describe('quota (429)', () => {
  test('Retry-After in seconds', async () => {
    nock(BASE)
      .post(PATH)
      .reply(429, graphError('TooManyRequests', 'Too many requests.'), { 'Retry-After': '17' });

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQuotaError;

    expect(error).toBeInstanceOf(HuntingQuotaError);
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(17_000);
    expect(error.runAgainInMs).toBeUndefined();
    expect(error.retryable).toBe(true);
  });

  test('Retry-After as an HTTP-date, relative to the injected clock', async () => {
    nock(BASE)
      .post(PATH)
      .reply(429, graphError('TooManyRequests', 'Too many requests.'), { 'Retry-After': 'Tue, 04 Mar 2025 10:00:45 GMT' });

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQuotaError;

    expect(error.retryAfterMs).toBe(45_000);
  });

  test('no header, but the body says when queries can run again', async () => {
    nock(BASE)
      .post(PATH)
      .reply(
        429,
        graphError(
          'TooManyRequests',
          'You have exceeded processing resources allocated to this tenant. You can run queries again in 00:01:23.',
        ),
      );

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQuotaError;

    expect(error).toBeInstanceOf(HuntingQuotaError);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.runAgainInMs).toBe(83_000);
    expect(error.waitMs).toBe(83_000);
    expect(error.graphMessage).toContain('You can run queries again in 00:01:23');
    // The raw answer survives in `cause` for the logs.
    expect(error.cause).toMatchObject({ status: 429 });
  });

  test('a plain-text 429 body in seconds', async () => {
    nock(BASE).post(PATH).reply(429, 'Rate limit hit. You can run queries again in 83 seconds.', { 'Content-Type': 'text/plain' });

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQuotaError;

    expect(error.runAgainInMs).toBe(83_000);
  });
});

describe('no automatic retry', () => {
  test('429 with Retry-After: 0 is surfaced after exactly one request', async () => {
    const counter = countingReply(429, graphError('TooManyRequests', 'Too many requests.'), { 'Retry-After': '0' });

    await expect(makeClient().runHuntingQuery({ query: QUERY })).rejects.toBeInstanceOf(HuntingQuotaError);

    expect(counter.calls()).toBe(1);
  });

  test('503 is surfaced after exactly one request', async () => {
    const counter = countingReply(503, graphError('ServiceUnavailable', 'Service is unavailable.'), { 'Retry-After': '0' });

    await expect(makeClient().runHuntingQuery({ query: QUERY })).rejects.toBeInstanceOf(HuntingServerError);

    expect(counter.calls()).toBe(1);
  });
});

describe('server and network failures', () => {
  test.each([500, 503])('%d → HuntingServerError with the status', async (status) => {
    nock(BASE).post(PATH).reply(status, graphError('InternalServerError', 'Something went wrong.'));

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingServerError;

    expect(error).toBeInstanceOf(HuntingServerError);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(true);
    expect(error.requestId).toBe('rid-1');
    expect(error.message).toContain(`HTTP ${status}`);
  });

  test('a redirect is not followed (the token must not travel on)', async () => {
    const counter = countingReply(302, '', { Location: 'https://elsewhere.example/v1.0/security/runHuntingQuery' });

    const error = await failure(makeClient().runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingError);
    expect((error as HuntingError).status).toBe(302);
    expect((error as HuntingError).message).toContain('redirecting to https://elsewhere.example');
    expect(counter.calls()).toBe(1);
  });

  test('a reset connection → HuntingNetworkError', async () => {
    nock(BASE).post(PATH).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });

    const error = await failure(makeClient().runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingNetworkError);
    expect((error as HuntingNetworkError).retryable).toBe(true);
    expect((error as HuntingNetworkError).cause).toBeDefined();
  });
});

describe('timeouts and cancellation', () => {
  test('the per-request timeout fires without a long sleep', async () => {
    nock(BASE).post(PATH).delay(600).reply(200, CAMEL_ANSWER);
    const started = Date.now();

    const error = await failure(makeClient({ timeoutMs: 100 }).runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingTimeoutError);
    expect((error as HuntingTimeoutError).timeoutMs).toBe(100);
    expect((error as HuntingTimeoutError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('a credential that hangs is cut off by the same timeout', async () => {
    const hanging: TokenCredential = { getToken: () => new Promise<AccessToken>(() => undefined) };

    const error = await failure(makeClient({ credential: hanging, timeoutMs: 50 }).runHuntingQuery({ query: QUERY }));

    expect(error).toBeInstanceOf(HuntingTimeoutError);
  });

  test("the caller's abort rejects with the caller's reason", async () => {
    nock(BASE).post(PATH).delay(600).reply(200, CAMEL_ANSWER);
    const controller = new AbortController();
    const reason = new Error('cycle deadline reached');
    setTimeout(() => controller.abort(reason), 50);

    await expect(makeClient().runHuntingQuery({ query: QUERY }, controller.signal)).rejects.toBe(reason);
  });

  test('an already aborted signal sends nothing', async () => {
    const scope = nock(BASE).post(PATH).reply(200, CAMEL_ANSWER);
    const controller = new AbortController();
    controller.abort(new Error('stop'));

    await expect(makeClient().runHuntingQuery({ query: QUERY }, controller.signal)).rejects.toThrow('stop');
    expect(scope.isDone()).toBe(false);
  });
});

describe('malformed answers', () => {
  test('200 with a body that is not JSON', async () => {
    nock(BASE).post(PATH).reply(200, '{"schema": [', { 'Content-Type': 'application/json' });

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingResponseError;

    expect(error).toBeInstanceOf(HuntingResponseError);
    expect(error.problem).toBe('not-json');
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.status).toBe(200);
  });

  test('200 without results', async () => {
    nock(BASE).post(PATH).reply(200, { schema: CAMEL_ANSWER.schema });

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingResponseError;

    expect(error).toBeInstanceOf(HuntingResponseError);
    expect(error.problem).toBe('missing-results');
    expect(error.retryable).toBe(false);
  });

  test('200 with results that are not objects', async () => {
    nock(BASE).post(PATH).reply(200, { schema: CAMEL_ANSWER.schema, results: ['cmd.exe'] });

    await expect(makeClient().runHuntingQuery({ query: QUERY })).rejects.toMatchObject({ problem: 'bad-results' });
  });
});

describe('query errors (400)', () => {
  test('a syntax error keeps Graph code and message', async () => {
    nock(BASE)
      .post(PATH)
      .reply(400, graphError('BadRequest', "'where' operator: Failed to resolve column or scalar expression named 'FileNam'"));

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQueryError;

    expect(error).toBeInstanceOf(HuntingQueryError);
    expect(error.graphCode).toBe('BadRequest');
    expect(error.graphMessage).toContain("named 'FileNam'");
    expect(error.resultSizeExceeded).toBe(false);
    expect(error.retryable).toBe(false);
  });

  test('result size exceeded is flagged for a window split', async () => {
    nock(BASE)
      .post(PATH)
      .reply(
        400,
        graphError(
          'BadRequest',
          'Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again.',
        ),
      );

    const error = (await failure(makeClient().runHuntingQuery({ query: QUERY }))) as HuntingQueryError;

    expect(error).toBeInstanceOf(HuntingQueryError);
    expect(error.resultSizeExceeded).toBe(true);
  });
});

describe('configuration', () => {
  test("authentication 'none' is refused for a non-loopback URL", () => {
    expect(() => new GraphHuntingClient({ baseUrl: BASE, authentication: 'none' })).toThrow(HuntingConfigurationError);
    expect(() => new GraphHuntingClient({ baseUrl: BASE, authentication: 'none' })).toThrow(/only allowed against a loopback/);
  });

  test("authentication 'none' is accepted on loopback", () => {
    expect(new GraphHuntingClient({ baseUrl: 'http://127.0.0.1:1', authentication: 'none' }).url).toBe(
      'http://127.0.0.1:1/v1.0/security/runHuntingQuery',
    );
  });

  test("'entra' needs a credential, and https unless the server is on loopback", () => {
    expect(() => new GraphHuntingClient({ baseUrl: BASE, authentication: 'entra' })).toThrow(/needs a credential/);
    expect(() => new GraphHuntingClient({ baseUrl: 'http://graph.example.com', authentication: 'entra', credential })).toThrow(/plain http/);
    // A local Graph server tells tenants apart by the token, as Graph does (test/integration/tenants).
    expect(new GraphHuntingClient({ baseUrl: 'http://127.0.0.1:1', authentication: 'entra', credential }).url).toBe(
      'http://127.0.0.1:1/v1.0/security/runHuntingQuery',
    );
  });

  test('timeoutMs must be a positive integer', () => {
    expect(() => makeClient({ timeoutMs: 0 })).toThrow(HuntingConfigurationError);
  });
});

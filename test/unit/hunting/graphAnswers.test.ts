/** Pure parts of the Graph client: answer normalisation and HTTP failure classification. */
import {
  HuntingAuthError,
  HuntingError,
  HuntingQueryError,
  HuntingQuotaError,
  HuntingResponseError,
  HuntingServerError,
  HuntingTimeoutError,
} from '../../../shared/hunting/errors';
import { classifyHttpFailure, normaliseHuntingResults } from '../../../shared/hunting/graphClient';

const NOW = new Date('2025-03-04T10:00:00Z');

describe('normaliseHuntingResults', () => {
  const rows = [{ Timestamp: '2024-03-26T09:39:50.7688641Z', FileName: 'cmd.exe', processCommandLine: 'x' }];

  test('camelCase with @odata.context (Graph v1.0 example 1)', () => {
    expect(
      normaliseHuntingResults({
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
        schema: [{ name: 'Timestamp', type: 'DateTime' }],
        results: rows,
      }),
    ).toEqual({ schema: [{ name: 'Timestamp', type: 'DateTime' }], results: rows });
  });

  test('PascalCase keys at both levels; row keys untouched', () => {
    const normalised = normaliseHuntingResults({
      Schema: [{ Name: 'Timestamp', Type: 'DateTime' }],
      Results: rows,
    });
    expect(normalised.schema).toEqual([{ name: 'Timestamp', type: 'DateTime' }]);
    expect(Object.keys(normalised.results[0]!)).toEqual(['Timestamp', 'FileName', 'processCommandLine']);
  });

  test('the exact-case key wins over another casing', () => {
    expect(normaliseHuntingResults({ schema: [], Schema: [{ name: 'x', type: 'y' }], results: [] }).schema).toEqual([]);
  });

  test('empty results are fine', () => {
    expect(normaliseHuntingResults({ schema: [], results: [] })).toEqual({ schema: [], results: [] });
  });

  test.each<[string, unknown, string]>([
    ['array', [], 'not-object'],
    ['null', null, 'not-object'],
    ['string', 'x', 'not-object'],
    ['no schema', { results: [] }, 'missing-schema'],
    ['null schema', { schema: null, results: [] }, 'missing-schema'],
    ['schema not array', { schema: {}, results: [] }, 'bad-schema'],
    ['schema entry not object', { schema: ['Timestamp'], results: [] }, 'bad-schema'],
    ['schema entry without name', { schema: [{ type: 'String' }], results: [] }, 'bad-schema'],
    ['schema entry without type', { schema: [{ name: 'a' }], results: [] }, 'bad-schema'],
    ['no results', { schema: [] }, 'missing-results'],
    ['results not array', { schema: [], results: {} }, 'bad-results'],
    ['row not object', { schema: [], results: [{ a: 1 }, 2] }, 'bad-results'],
    ['row is array', { schema: [], results: [[1]] }, 'bad-results'],
  ])('%s → HuntingResponseError(%s)', (_label, json, problem) => {
    let thrown: unknown;
    try {
      normaliseHuntingResults(json);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HuntingResponseError);
    expect((thrown as HuntingResponseError).problem).toBe(problem);
    expect((thrown as HuntingResponseError).retryable).toBe(false);
    expect((thrown as HuntingResponseError).message).toMatch(/^Malformed runHuntingQuery answer/);
  });
});

describe('classifyHttpFailure', () => {
  const graphBody = (code: string, message: string): string =>
    JSON.stringify({ error: { code, message, innerError: { 'request-id': 'rid-body', date: '2025-03-04T10:00:00' } } });

  test('403 → auth error naming the permission, with Graph code, message and request id', () => {
    const error = classifyHttpFailure({
      status: 403,
      headers: new Headers({ 'request-id': 'rid-header' }),
      body: graphBody('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      now: NOW,
      clientRequestId: 'crid',
    });
    expect(error).toBeInstanceOf(HuntingAuthError);
    expect(error.message).toContain('ThreatHunting.Read.All');
    expect(error.message).toContain('admin consent');
    expect(error).toMatchObject({
      status: 403,
      graphCode: 'Authorization_RequestDenied',
      graphMessage: 'Insufficient privileges to complete the operation.',
      requestId: 'rid-header',
      clientRequestId: 'crid',
      retryable: false,
    });
    expect(error.cause).toMatchObject({ status: 403, headers: { 'request-id': 'rid-header' } });
  });

  test('the body request id is used when the header is missing', () => {
    expect(classifyHttpFailure({ status: 401, body: graphBody('InvalidAuthenticationToken', 'x'), now: NOW }).requestId).toBe('rid-body');
  });

  test('429 keeps the header wait and the body wait separately; waitMs is the longer', () => {
    const error = classifyHttpFailure({
      status: 429,
      headers: new Headers({ 'Retry-After': '30' }),
      body: graphBody('TooManyRequests', 'You have exceeded processing resources allocated to this tenant. You can run queries again in 00:01:23.'),
      now: NOW,
    });
    expect(error).toBeInstanceOf(HuntingQuotaError);
    const quota = error as HuntingQuotaError;
    expect(quota.retryAfterMs).toBe(30_000);
    expect(quota.runAgainInMs).toBe(83_000);
    expect(quota.waitMs).toBe(83_000);
    expect(quota.retryable).toBe(true);
  });

  test('429 with nothing to go on', () => {
    const quota = classifyHttpFailure({ status: 429, body: '', now: NOW }) as HuntingQuotaError;
    expect(quota.retryAfterMs).toBeUndefined();
    expect(quota.runAgainInMs).toBeUndefined();
    expect(quota.waitMs).toBeUndefined();
  });

  test.each([
    ['Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again.', true],
    ['Result size limit exceeded. Use "summarize" to aggregate results, "project" to drop uninteresting columns, or "take" to truncate results.', true],
    ['Query exceeded the allowed result size', true],
    ["'project' operator: Failed to resolve scalar expression named 'x'", false],
    ['A recognition error occurred.', false],
  ])('400 %j → resultSizeExceeded %s', (message, exceeded) => {
    const error = classifyHttpFailure({ status: 400, body: graphBody('BadRequest', message), now: NOW });
    expect(error).toBeInstanceOf(HuntingQueryError);
    expect((error as HuntingQueryError).resultSizeExceeded).toBe(exceeded);
    expect(error.graphMessage).toBe(message);
    expect(error.retryable).toBe(false);
  });

  test('5xx → server error; 501 is not retryable', () => {
    const unavailable = classifyHttpFailure({ status: 503, body: 'Service Unavailable', now: NOW });
    expect(unavailable).toBeInstanceOf(HuntingServerError);
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.graphMessage).toBe('Service Unavailable');
    expect(classifyHttpFailure({ status: 501, body: '', now: NOW }).retryable).toBe(false);
  });

  test('408 → timeout; other statuses → plain HuntingError', () => {
    expect(classifyHttpFailure({ status: 408, body: '', now: NOW })).toBeInstanceOf(HuntingTimeoutError);
    const notFound = classifyHttpFailure({ status: 404, body: graphBody('BadRequest', 'Resource not found'), now: NOW });
    expect(notFound.constructor).toBe(HuntingError);
    expect(notFound.message).toContain('HTTP 404 (BadRequest: Resource not found)');
  });
});

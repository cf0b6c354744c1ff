/**
 * The production GraphHuntingClient, authentication 'none', against the local Graph server on a
 * real loopback socket (port 0): what the demo runs. Also the in-process ReplayHuntingSource.
 */
import { HuntingQueryError, HuntingQuotaError, HuntingResponseError } from '../../../shared/hunting/errors';
import { GraphHuntingClient } from '../../../shared/hunting/graphClient';
import { ReplayHuntingSource, startLocalGraphServer } from '../../../shared/hunting/replaySource';
import type { LocalGraphServer } from '../../../shared/hunting/replaySource';
import type { HuntingQueryResults } from '../../../shared/hunting/types';

const FIXTURE: HuntingQueryResults = {
  schema: [
    { name: 'Timestamp', type: 'DateTime' },
    { name: 'DeviceName', type: 'String' },
    { name: 'ProcessCommandLine', type: 'String' },
  ],
  results: [
    {
      Timestamp: '2025-03-04T09:12:00Z',
      DeviceName: 'ws-001',
      ProcessCommandLine: 'makecert.exe -r -pe -n "CN=Contoso Root" -ss My -sr CurrentUser -sky signature',
    },
    {
      Timestamp: '2025-03-04T09:15:00Z',
      DeviceName: 'ws-002',
      ProcessCommandLine: 'New-SelfSignedCertificate -Type CodeSigningCert -Subject "CN=Ünïcode Signer"',
    },
  ],
};

const QUERY = 'DeviceProcessEvents | where ProcessCommandLine has "makecert" | where FileName == "é.exe"';

let server: LocalGraphServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function clientFor(running: LocalGraphServer, timeoutMs = 5_000): GraphHuntingClient {
  return new GraphHuntingClient({ baseUrl: running.baseUrl, authentication: 'none', timeoutMs });
}

test('listens on 127.0.0.1 with an OS-chosen port', async () => {
  server = await startLocalGraphServer(FIXTURE);
  expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(server.baseUrl).not.toMatch(/:0$/);
});

test('the real client gets the fixture back, and the server saw the Graph request', async () => {
  server = await startLocalGraphServer(FIXTURE);

  const results = await clientFor(server).runHuntingQuery({ query: QUERY, timespan: 'PT1H' });

  expect(results).toEqual(FIXTURE);
  expect(server.requests).toHaveLength(1);
  const [request] = server.requests;
  expect(request).toMatchObject({ method: 'POST', url: '/v1.0/security/runHuntingQuery', query: QUERY, timespan: 'PT1H' });
  expect(JSON.parse(request!.body)).toEqual({ Query: QUERY, Timespan: 'PT1H' });
  expect(request!.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(request!.headers.authorization).toBeUndefined();
});

test('PascalCase answers normalise the same', async () => {
  server = await startLocalGraphServer(FIXTURE, { keyCasing: 'pascal' });
  await expect(clientFor(server).runHuntingQuery({ query: QUERY })).resolves.toEqual(FIXTURE);
});

test('the respond hook serves a 429 through real HTTP, with header and body intact', async () => {
  server = await startLocalGraphServer(FIXTURE, {
    respond: () => ({
      status: 429,
      headers: { 'Retry-After': '5' },
      body: {
        error: {
          code: 'TooManyRequests',
          message: 'You have exceeded processing resources allocated to this tenant. You can run queries again in 00:00:42.',
        },
      },
    }),
  });

  const error = (await clientFor(server)
    .runHuntingQuery({ query: QUERY })
    .catch((e: unknown) => e)) as HuntingQuotaError;

  expect(error).toBeInstanceOf(HuntingQuotaError);
  expect(error.retryAfterMs).toBe(5_000);
  expect(error.runAgainInMs).toBe(42_000);
  expect(server.requests).toHaveLength(1);
});

test('a malformed answer from the hook becomes HuntingResponseError', async () => {
  server = await startLocalGraphServer(FIXTURE, { respond: () => ({ status: 200, body: '<html>proxy error</html>' }) });
  await expect(clientFor(server).runHuntingQuery({ query: QUERY })).rejects.toBeInstanceOf(HuntingResponseError);
});

test('the server validates the body as Graph would: an empty Query is a 400', async () => {
  server = await startLocalGraphServer(FIXTURE);
  await expect(clientFor(server).runHuntingQuery({ query: '  ' })).rejects.toBeInstanceOf(HuntingQueryError);
});

test('other paths answer 404 in Graph error shape', async () => {
  server = await startLocalGraphServer(FIXTURE);
  const response = await fetch(`${server.baseUrl}/v1.0/me`);
  expect(response.status).toBe(404);
  expect(await response.json()).toMatchObject({ error: { code: 'BadRequest' } });
});

test('close() frees the port even with a kept-alive connection', async () => {
  const running = await startLocalGraphServer(FIXTURE);
  await clientFor(running).runHuntingQuery({ query: QUERY });
  await running.close();
  await expect(fetch(`${running.baseUrl}/v1.0/security/runHuntingQuery`, { method: 'POST' })).rejects.toThrow();
});

describe('ReplayHuntingSource', () => {
  test('answers with a copy of the fixture and records requests', async () => {
    const source = new ReplayHuntingSource(FIXTURE);

    const first = await source.runHuntingQuery({ query: 'a' });
    first.results.pop();
    const second = await source.runHuntingQuery({ query: 'b', timespan: 'P1D' });

    expect(second).toEqual(FIXTURE);
    expect(source.requests).toEqual([{ query: 'a' }, { query: 'b', timespan: 'P1D' }]);
  });

  test('fromGraphResponse reads a saved Graph answer', async () => {
    const source = ReplayHuntingSource.fromGraphResponse({
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
      Schema: FIXTURE.schema.map(({ name, type }) => ({ Name: name, Type: type })),
      Results: FIXTURE.results,
    });
    await expect(source.runHuntingQuery({ query: 'x' })).resolves.toEqual(FIXTURE);
  });

  test('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(new ReplayHuntingSource(FIXTURE).runHuntingQuery({ query: 'x' }, controller.signal)).rejects.toThrow('cancelled');
  });
});

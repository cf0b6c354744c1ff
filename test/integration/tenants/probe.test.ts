/**
 * `tenants test` against Entra's and Graph's real HTTP contracts, intercepted with nock: the real
 * ClientCertificateCredential (a test certificate) and ClientSecretCredential ask
 * login.microsoftonline.com for a token of the customer tenant, and the real Graph client runs the
 * one-row query. Each case answers as Entra or Graph does and the probe must name what is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import nock from 'nock';
import { GraphHuntingClient } from '../../../shared/hunting/graphClient';
import { localTenantToken } from '../../../shared/hunting/tenantGraphServer';
import { TenantCredentials } from '../../../shared/tenants/credentials';
import { probeTenant, PROBE_QUERY, type ProbeDeps } from '../../../shared/tenants/probe';
import type { Tenant } from '../../../shared/tenants/tenant';
import { makeTenant } from '../../support/tenants';

const LOGIN = 'https://login.microsoftonline.com';
const GRAPH = 'https://graph.microsoft.com';
const APP = '9d2b8f0e-0000-4000-8000-00000000c0de';
const TID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const PEM = fs.readFileSync(path.resolve(__dirname, '../../fixtures/tenants/test-provider.pem'), 'utf8');

function tenant(overrides: Partial<Tenant> = {}): Tenant {
  return makeTenant('contoso', { entraTenantId: TID, displayName: 'Contoso', ...overrides });
}

function deps(env: Record<string, string> = {}): ProbeDeps {
  const credentials = new TenantCredentials({ app: { clientId: APP, certificatePem: PEM, certificatePath: null }, secretSetting: (name) => env[name] });
  return {
    clientId: APP,
    credential: (t) => credentials.credentialFor(t),
    source: (t, credential) => new GraphHuntingClient({ baseUrl: t.graphBaseUrl, authentication: 'entra', credential, timeoutMs: 5_000 }),
  };
}

/** Entra's token endpoint error body (v2.0), as it answers a client-credentials request. */
function entraError(error: string, code: number, description: string): object {
  return {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: 0d8c0e1a-0000-0000-0000-000000000000\r\nCorrelation ID: 5f1e2d3c-0000-0000-0000-000000000000\r\nTimestamp: 2025-03-04 10:00:00Z`,
    error_codes: [code],
    timestamp: '2025-03-04 10:00:00Z',
    trace_id: '0d8c0e1a-0000-0000-0000-000000000000',
    correlation_id: '5f1e2d3c-0000-0000-0000-000000000000',
    error_uri: `${LOGIN}/error?code=${code}`,
  };
}

function tokenAnswer(roles: string[]): object {
  return { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: localTenantToken(TID, { roles, expiresAt: Date.now() + 3_600_000 }) };
}

let tokenRequests: string[];

function entraAnswers(tenantInPath: string, status: number, body: object): void {
  nock(LOGIN)
    .post(`/${tenantInPath}/oauth2/v2.0/token`)
    .query(true)
    .reply((_uri, requestBody) => {
      tokenRequests.push(typeof requestBody === 'string' ? requestBody : JSON.stringify(requestBody));
      return [status, body];
    });
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  tokenRequests = [];
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

test('a consented tenant with the permission: token, role and a one-row query', async () => {
  entraAnswers(TID, 200, tokenAnswer(['ThreatHunting.Read.All']));
  const graph = nock(GRAPH)
    .post('/v1.0/security/runHuntingQuery', (body: { Query: string }) => body.Query === PROBE_QUERY)
    .reply(200, { schema: [{ name: 'Timestamp', type: 'DateTime' }], results: [{ Timestamp: '2025-03-04T09:00:00Z' }] });

  const result = await probeTenant(tenant(), deps());

  expect(result).toMatchObject({ ok: true, problem: null, rows: 1 });
  expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
    ['configuration', true],
    ['token', true],
    ['permission', true],
    ['query', true],
  ]);
  // The certificate was used: a signed client assertion, no secret.
  expect(tokenRequests[0]).toMatch(/client_assertion=ey/);
  expect(tokenRequests[0]).toMatch(/client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer/);
  expect(tokenRequests[0]).not.toMatch(/client_secret=/);
  expect(graph.isDone()).toBe(true);
});

test('admin consent missing (AADSTS700016): says so and gives the consent URL', async () => {
  entraAnswers(
    TID,
    400,
    entraError(
      'unauthorized_client',
      700016,
      `Application with identifier '${APP}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  );

  const result = await probeTenant(tenant(), deps());

  expect(result).toMatchObject({ ok: false, problem: 'admin-consent-missing' });
  expect(result.steps.at(-1)).toMatchObject({ step: 'token', ok: false });
  expect(result.consentUrl).toBe(`${LOGIN}/${TID}/adminconsent?client_id=${APP}`);
});

test('the ThreatHunting.Read.All application permission missing: the token has no such role, no query is sent', async () => {
  entraAnswers(TID, 200, tokenAnswer(['SecurityEvents.Read.All']));
  const graph = nock(GRAPH).post('/v1.0/security/runHuntingQuery').reply(200, { schema: [], results: [] });

  const result = await probeTenant(tenant(), deps());

  expect(result).toMatchObject({ ok: false, problem: 'permission-missing' });
  expect(result.advice).toMatch(/ThreatHunting\.Read\.All/);
  expect(result.steps.at(-1)).toMatchObject({ step: 'permission', ok: false, detail: 'roles: SecurityEvents.Read.All' });
  expect(result.consentUrl).toContain('/adminconsent?client_id=');
  expect(graph.isDone()).toBe(false);
});

test("the permission missing as Graph says it (403 Forbidden, an opaque token)", async () => {
  entraAnswers(TID, 200, { token_type: 'Bearer', expires_in: 3599, access_token: 'opaque' });
  nock(GRAPH)
    .post('/v1.0/security/runHuntingQuery')
    .reply(403, { error: { code: 'Forbidden', message: 'Missing application roles. API required roles: ThreatHunting.Read.All, application roles: .', innerError: { 'request-id': 'r1' } } });

  const result = await probeTenant(tenant(), deps());

  expect(result).toMatchObject({ ok: false, problem: 'permission-missing' });
  expect(result.steps.map((s) => s.step)).toEqual(['configuration', 'token', 'permission', 'query']);
});

test('a wrong tenant id (AADSTS90002): Entra does not know the tenant', async () => {
  entraAnswers(
    'contoso-typo.onmicrosoft.com',
    400,
    entraError('invalid_request', 90002, "Tenant 'contoso-typo.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
  );

  const result = await probeTenant(tenant({ entraTenantId: 'contoso-typo.onmicrosoft.com' }), deps());

  expect(result).toMatchObject({ ok: false, problem: 'wrong-tenant-id' });
  expect(result.advice).toMatch(/tenant id/);
});

test('a per-tenant client secret is used when the tenant names one; a wrong secret is named (AADSTS7000215)', async () => {
  entraAnswers(TID, 401, entraError('invalid_client', 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + APP + "'."));

  const result = await probeTenant(tenant({ credential: { kind: 'secret', setting: 'TENANT_CONTOSO_SECRET' } }), deps({ TENANT_CONTOSO_SECRET: 'wrong-secret' }));

  expect(result).toMatchObject({ ok: false, problem: 'credential-rejected', consentUrl: null });
  expect(tokenRequests[0]).toMatch(/client_secret=wrong-secret/);
  expect(JSON.stringify(result)).not.toContain('wrong-secret');
});

test('a secret reference to an unset setting fails at configuration, before any request', async () => {
  const result = await probeTenant(tenant({ credential: { kind: 'secret', setting: 'TENANT_CONTOSO_SECRET' } }), deps());
  expect(result).toMatchObject({ ok: false, problem: 'configuration' });
  expect(result.advice).toMatch(/TENANT_CONTOSO_SECRET is not set/);
  expect(tokenRequests).toEqual([]);
});

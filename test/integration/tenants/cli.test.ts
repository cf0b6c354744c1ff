/**
 * `codesign-hunt tenants …`, `status` and `runs --tenant` in-process against Azurite; `tenants
 * test` with the real certificate credential against Entra and Graph intercepted by nock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import nock from 'nock';
import { main } from '../../../shared/cli/main';
import type { CliIo } from '../../../shared/cli/io';
import { CheckpointStore } from '../../../shared/hunt/checkpointStore';
import { localTenantToken } from '../../../shared/hunting/tenantGraphServer';
import { StorageFactory } from '../../../shared/storage/clients';
import { loadSettings } from '../../../shared/config/settings';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

const APP = '9d2b8f0e-0000-4000-8000-00000000c0de';
const TID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const PEM = fs.readFileSync(path.resolve(__dirname, '../../fixtures/tenants/test-provider.pem'), 'utf8');
const CHANNELS = JSON.stringify([
  { id: 'contoso-teams', type: 'teams', url: 'https://contoso.webhook.office.com/workflows/x', minSeverity: 'low', kinds: ['incident', 'health'] },
  { id: 'soc', type: 'webhook', url: 'https://soc.example.com/hook', minSeverity: 'informational', kinds: ['incident', 'health'], secret: 'whsec_Y29kZXNpZ24taHVudC10ZXN0LXNlY3JldC1mb3ItdGhlLWhhcm5lc3M=' },
]);

let env: Record<string, string>;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

beforeEach(() => {
  env = {
    Storage: azuriteConnectionString(),
    TENANTS_TABLE: uniqueName('tenants'),
    CHECKPOINTS_TABLE: uniqueName('ckpt'),
    TENANT_ID: 'default',
    PROVIDER_APP_CLIENT_ID: APP,
    PROVIDER_APP_CERTIFICATE: PEM,
    NOTIFY_CHANNELS: CHANNELS,
    USER: 'alice',
  };
});

afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

test('with an empty registry, list and status describe the settings\' one tenant', async () => {
  expect((await run('tenants', 'list')).stdout).toMatch(/single-tenant mode/);
  const status = await run('status', '--json');
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ mode: 'single', tenants: [{ tenant: 'default', state: 'active', lagMs: null }] });
});

test('add, update, pause, resume, remove, history: the whole registry life of a customer', async () => {
  const added = await run('tenants', 'add', 'contoso', '--entra-tenant', TID, '--name', 'Contoso Ltd', '--channels', 'contoso-teams,soc', '--set', 'HUNT_MAX_CALLS_PER_MINUTE=30', '--reason', 'new customer');
  expect(added.code).toBe(0);
  expect(added.stdout).toMatch(/contoso .*channels=contoso-teams,soc .*certificate .*HUNT_MAX_CALLS_PER_MINUTE=30/);
  expect(added.stderr).toContain(`https://login.microsoftonline.com/${TID}/adminconsent?client_id=${APP}`);

  expect((await run('tenants', 'add', 'contoso', '--entra-tenant', TID)).code).toBe(1);
  const unknownChannel = await run('tenants', 'add', 'fabrikam', '--entra-tenant', 'fabrikam.onmicrosoft.com', '--channels', 'fabrikam-teams');
  expect(unknownChannel).toMatchObject({ code: 1, stderr: expect.stringMatching(/not in NOTIFY_CHANNELS: fabrikam-teams/) });
  expect((await run('tenants', 'add', 'gov', '--entra-tenant', 'gov.onmicrosoft.us', '--cloud', 'usgov', '--secret-setting', 'TENANT_GOV_SECRET', '--rules', 't1587-002')).code).toBe(0);

  const listed = JSON.parse((await run('tenants', 'list', '--json')).stdout) as { mode: string; tenants: { key: string; graphBaseUrl: string }[] };
  expect(listed.mode).toBe('registry');
  expect(listed.tenants.map((t) => [t.key, t.graphBaseUrl])).toEqual([
    ['contoso', 'https://graph.microsoft.com'],
    ['gov', 'https://graph.microsoft.us'],
  ]);

  expect((await run('tenants', 'update', 'contoso', '--unset', 'HUNT_MAX_CALLS_PER_MINUTE', '--channels', 'soc')).stdout).toMatch(/channels=soc {2}certificate$/m);
  expect((await run('tenants', 'update', 'contoso', '--set', 'Storage=x')).stderr).toMatch(/overrides.Storage: cannot be set per tenant/);
  expect((await run('tenants', 'update', 'contoso', '--rules', 't1587-002,no-such-rule')).stderr).toMatch(/ruleIds: not in rules\/: no-such-rule/);
  const outOfRange = await run('tenants', 'update', 'contoso', '--set', 'HUNT_MAX_CALLS_PER_MINUTE=90');
  expect(outOfRange).toMatchObject({ code: 1, stderr: expect.stringMatching(/HUNT_MAX_CALLS_PER_MINUTE must be a number between 1 and 45/) });
  expect((await run('tenants', 'pause', 'contoso'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/--reason/) });
  expect((await run('tenants', 'pause', 'contoso', '--reason', 'contract renewal')).stdout).toMatch(/paused/);
  const status = JSON.parse((await run('status', '--json')).stdout) as { tenants: { tenant: string; state: string; lastError: string | null }[] };
  expect(status.tenants.find((t) => t.tenant === 'contoso')).toMatchObject({ state: 'paused', lastError: 'paused: contract renewal' });
  expect((await run('tenants', 'resume', 'contoso')).code).toBe(0);
  expect((await run('tenants', 'remove', 'gov', '--reason', 'moved to its own deployment')).code).toBe(0);

  const history = (await run('tenants', 'history', 'contoso')).stdout.trim().split('\n');
  expect(history.map((line) => line.split('\t').slice(1, 3))).toEqual([
    ['resume', 'cli:alice'],
    ['pause', 'cli:alice'],
    ['update', 'cli:alice'],
    ['add', 'cli:alice'],
  ]);
  expect((await run('tenants', 'consent-url', 'contoso')).stdout.trim()).toBe(`https://login.microsoftonline.com/${TID}/adminconsent?client_id=${APP}`);
});

test('tenants test says what is missing and exits 1; a ready tenant exits 0', async () => {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'));
  await run('tenants', 'add', 'contoso', '--entra-tenant', TID, '--channels', 'soc');
  nock('https://login.microsoftonline.com')
    .post(`/${TID}/oauth2/v2.0/token`)
    .query(true)
    .reply(400, {
      error: 'unauthorized_client',
      error_description: `AADSTS700016: Application with identifier '${APP}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      error_codes: [700016],
    });
  const missing = await run('tenants', 'test', 'contoso');
  expect(missing.code).toBe(1);
  expect(missing.stdout).toMatch(/token +FAILED/);
  expect(missing.stdout).toMatch(/contoso: admin-consent-missing: /);
  expect(missing.stdout).toContain(`admin consent URL (for the customer's Global Administrator): https://login.microsoftonline.com/${TID}/adminconsent?client_id=${APP}`);

  nock('https://login.microsoftonline.com')
    .post(`/${TID}/oauth2/v2.0/token`)
    .query(true)
    .reply(200, { token_type: 'Bearer', expires_in: 3599, access_token: localTenantToken(TID, { expiresAt: Date.now() + 3_600_000 }) });
  nock('https://graph.microsoft.com').post('/v1.0/security/runHuntingQuery').reply(200, { schema: [], results: [] });
  const ready = await run('tenants', 'test', 'contoso');
  expect(ready).toMatchObject({ code: 0, stdout: expect.stringMatching(/contoso: ready to hunt/) });
  nock.enableNetConnect();
});

test('runs --tenant reads that tenant\'s run records with its rules', async () => {
  await run('tenants', 'add', 'contoso', '--entra-tenant', TID, '--rules', 't1587-002', '--channels', 'soc');
  const settings = loadSettings(env);
  const checkpoints = new CheckpointStore(new StorageFactory(settings.storage).table(settings.tables.checkpoints));
  await checkpoints.ensure();
  const run0 = { runId: 'r1', tenantId: 'contoso', ruleId: 't1587-002', startedAt: '2025-03-04T10:00:00.000Z', finishedAt: '2025-03-04T10:00:01.000Z', outcome: 'succeeded' as const, windows: [], counts: { rows: 3 } as never, durationsMs: {}, checkpointBefore: null, checkpointAfter: null, lost: null, error: null, messages: [] };
  await checkpoints.recordRun('contoso', 't1587-002', run0);
  await checkpoints.recordRun('default', 't1587-002', { ...run0, runId: 'r2', tenantId: 'default' });
  const out = JSON.parse((await run('runs', '--tenant', 'contoso', '--json')).stdout) as { tenantId: string; runs: { runId: string }[] };
  expect(out).toMatchObject({ tenantId: 'contoso', runs: [{ runId: 'r1' }] });
  expect(out.runs).toHaveLength(1);
});

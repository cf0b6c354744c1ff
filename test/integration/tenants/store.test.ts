/** The tenant registry on Azurite: add, update, pause, resume, remove; ETags; audit in the same partition; unreadable rows reported. */
import { TableClient } from '@azure/data-tables';
import { TenantConflictError, TenantExistsError, TenantNotFoundError, TenantStore } from '../../../shared/tenants/store';
import { TenantValidationError } from '../../../shared/tenants/tenant';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

const GUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const NOW = new Date('2025-03-04T10:00:00Z');

let table: TableClient;
let store: TenantStore;

beforeEach(async () => {
  table = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('tenants'), { allowInsecureConnection: true });
  store = new TenantStore(table);
  await store.ensure();
});

test('add, read back, list; a second add of the key is refused', async () => {
  const added = await store.add(
    { key: 'contoso', entraTenantId: GUID, displayName: 'Contoso Ltd', channelIds: ['contoso-teams', 'soc'], overrides: { HUNT_MAX_CALLS_PER_MINUTE: '30' } },
    { actor: 'cli:alice', now: NOW, reason: 'onboarding' },
  );
  expect(added).toMatchObject({
    key: 'contoso',
    displayName: 'Contoso Ltd',
    channelIds: ['contoso-teams', 'soc'],
    overrides: { HUNT_MAX_CALLS_PER_MINUTE: '30' },
    createdBy: 'cli:alice',
    paused: null,
  });
  expect(added.etag).toBeTruthy();
  await store.add({ key: 'fabrikam', entraTenantId: 'fabrikam.onmicrosoft.com' }, { actor: 'cli:alice', now: NOW });
  expect((await store.list()).map((t) => t.key)).toEqual(['contoso', 'fabrikam']);
  await expect(store.add({ key: 'contoso', entraTenantId: GUID }, { actor: 'x', now: NOW })).rejects.toThrow(TenantExistsError);
});

test('invalid input never reaches the table', async () => {
  await expect(store.add({ key: 'Bad Key', entraTenantId: GUID }, { actor: 'x', now: NOW })).rejects.toThrow(TenantValidationError);
  expect(await store.list()).toEqual([]);
});

test('update with a stale ETag is refused; pause needs a reason; resume clears it; every change is audited', async () => {
  const added = await store.add({ key: 'contoso', entraTenantId: GUID }, { actor: 'cli:alice', now: NOW });
  const updated = await store.update('contoso', { channelIds: ['contoso-teams'] }, { actor: 'cli:bob', now: new Date(NOW.getTime() + 1000), ifMatch: added.etag ?? '' });
  expect(updated).toMatchObject({ channelIds: ['contoso-teams'], updatedBy: 'cli:bob' });
  await expect(store.update('contoso', { displayName: 'Late' }, { actor: 'cli:carol', now: NOW, ifMatch: added.etag ?? '' })).rejects.toThrow(TenantConflictError);

  await expect(store.pause('contoso', { actor: 'cli:bob', now: NOW, reason: ' ' })).rejects.toThrow(TenantValidationError);
  const paused = await store.pause('contoso', { actor: 'cli:bob', now: new Date(NOW.getTime() + 2000), reason: 'customer offboarding' });
  expect(paused.paused).toEqual({ reason: 'customer offboarding', by: 'cli:bob', at: '2025-03-04T10:00:02.000Z' });
  const resumed = await store.resume('contoso', { actor: 'cli:bob', now: new Date(NOW.getTime() + 3000) });
  expect(resumed.paused).toBeNull();

  const history = await store.history('contoso');
  expect(history.map((h) => [h.action, h.actor])).toEqual([
    ['resume', 'cli:bob'],
    ['pause', 'cli:bob'],
    ['update', 'cli:bob'],
    ['add', 'cli:alice'],
  ]);
  expect(history[2]?.before?.channelIds).toEqual([]);
  expect(history[2]?.after?.channelIds).toEqual(['contoso-teams']);
});

test('remove takes the tenant out of the registry but keeps its audit trail', async () => {
  await store.add({ key: 'contoso', entraTenantId: GUID }, { actor: 'cli:alice', now: NOW });
  await store.remove('contoso', { actor: 'cli:alice', now: new Date(NOW.getTime() + 1000), reason: 'contract ended' });
  expect(await store.get('contoso')).toBeNull();
  await expect(store.remove('contoso', { actor: 'cli:alice', now: NOW })).rejects.toThrow(TenantNotFoundError);
  expect((await store.history('contoso')).map((h) => [h.action, h.reason])).toEqual([
    ['remove', 'contract ended'],
    ['add', null],
  ]);
});

test('a row that cannot be read is reported by key, not dropped and not hunted half-configured', async () => {
  await store.add({ key: 'contoso', entraTenantId: GUID }, { actor: 'x', now: NOW });
  await table.createEntity({ partitionKey: 'broken', rowKey: 'config', key: 'broken', entraTenantId: 'nope', channelIds: '{not json' });
  const { tenants, unreadable } = await store.listWithProblems();
  expect(tenants.map((t) => t.key)).toEqual(['contoso']);
  // Its channel list is unreadable too: null, not "no channels".
  expect(unreadable).toEqual([{ key: 'broken', problem: expect.stringMatching(/JSON|entraTenantId/), channelIds: null }]);
});

test('listReadOnly (the allowlist API, a table reader): never creates the table, a missing table is an empty registry, an odd row keeps its channels', async () => {
  const fromConnection = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('tenantsnone'), { allowInsecureConnection: true });
  const reader = new TenantStore(fromConnection);
  expect(await reader.listReadOnly()).toEqual({ tenants: [], unreadable: [] });
  // Still absent: listing its rows fails with 404 rather than finding an empty table.
  await expect(fromConnection.listEntities().next()).rejects.toMatchObject({ statusCode: 404 });

  await store.add({ key: 'contoso', entraTenantId: GUID, channelIds: ['contoso-teams'] }, { actor: 'x', now: NOW });
  await store.add({ key: 'fabrikam', entraTenantId: GUID, channelIds: ['fabrikam-teams'] }, { actor: 'x', now: NOW });
  await table.updateEntity({ partitionKey: 'fabrikam', rowKey: 'config', overrides: 'not json' }, 'Merge');
  const { tenants, unreadable } = await store.listReadOnly();
  expect(tenants.map((t) => t.key)).toEqual(['contoso']);
  expect(unreadable).toEqual([{ key: 'fabrikam', problem: expect.any(String), channelIds: ['fabrikam-teams'] }]);
});

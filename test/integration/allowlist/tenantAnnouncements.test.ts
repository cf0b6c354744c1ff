/**
 * Allowlist changes in registry (many-tenant) mode, against Azurite: a tenant's entry is announced
 * on that tenant's channels as well as the deployment's, never on another tenant's; a global
 * entry on the deployment's only; an unreadable registry loses neither the change nor its audit,
 * and the alert names the tenant whose channels missed it. Through the allowlist runtime, the API
 * handlers and the CLI, with the real registry table and notification queue.
 */
import { RestError } from '@azure/data-tables';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { handleAllowlistCollection, handleAllowlistItem, ROLE_READ, ROLE_WRITE } from '../../../shared/allowlist/api';
import type { AllowlistEntry } from '../../../shared/allowlist/entry';
import { createAllowlistRuntime } from '../../../shared/app/allowlistRuntime';
import { memoryLogger } from '../../../shared/app/logger';
import { CHANGE_UNANNOUNCED_CODE, HEALTH_ALERT_MARKER } from '../../../shared/app/notifications';
import { runAllowlistCommand } from '../../../shared/cli/allowlist';
import { loadSettings } from '../../../shared/config/settings';
import { decodeQueueMessage, type NotificationMessage } from '../../../shared/notify/message';
import type { StoragePolicy } from '../../../shared/storage/clients';
import { StorageFactory } from '../../../shared/storage/clients';
import { TenantStore } from '../../../shared/tenants/store';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { makeTenant } from '../../support/tenants';
import { steppingClock } from './helpers';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const webhook = (id: string, kinds?: string[]) => ({ id, type: 'webhook', url: `https://${id}.example.com/hooks`, minSeverity: 'low', secret: SECRET, ...(kinds ? { kinds } : {}) });
/** soc: the provider's own (no tenant names it); each customer's Teams; soar: named by both. */
const CHANNELS = [
  webhook('soc', ['incident', 'health', 'allowlist-change']),
  webhook('contoso-teams'),
  webhook('fabrikam-teams'),
  webhook('soar'),
  webhook('contoso-incidents-only', ['incident']),
];

function principal(roles: string[]): string {
  const claims = [{ typ: 'preferred_username', val: 'alice@provider.example' }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');
}
const WRITER = { 'x-ms-client-principal': principal([ROLE_READ, ROLE_WRITE]), 'x-allowlist-client': 'test', 'content-type': 'application/json' };

function environment(): Record<string, string> {
  return {
    Storage: azuriteConnectionString(),
    ALLOWLIST_TABLE: uniqueName('tnallow'),
    ALLOWLIST_AUDIT_TABLE: uniqueName('tnaudit'),
    RECENT_FINDINGS_TABLE: uniqueName('tnrecent'),
    TENANTS_TABLE: uniqueName('tntenants'),
    NOTIFICATION_QUEUE: uniqueName('tnntf'),
    NOTIFY_CHANNELS: JSON.stringify(CHANNELS),
    USER: 'tester',
  };
}

/** Fails every request for one table (the API identity without its role), while `on` says so. */
function refuseTable(name: string): StoragePolicy & { on: boolean } {
  return {
    name: 'refuse-table',
    on: false,
    async sendRequest(request, next) {
      const url = (request as { url: string }).url;
      if (this.on && new URL(url).pathname.includes(name)) {
        throw new RestError('This request is not authorized to perform this operation using this permission.', { statusCode: 403 });
      }
      return next(request);
    },
  };
}

async function world(options: { tenants?: boolean } = {}) {
  const env = environment();
  const settings = loadSettings(env);
  const registry = new TenantStore(new StorageFactory(settings.storage).table(env.TENANTS_TABLE!));
  if (options.tenants !== false) {
    const change = { actor: 'test', now: new Date('2025-03-01T00:00:00Z') };
    await registry.add(makeTenant('contoso', { channelIds: ['contoso-teams', 'soar', 'contoso-incidents-only'] }), change);
    await registry.add(makeTenant('fabrikam', { channelIds: ['fabrikam-teams', 'soar'] }), change);
  }
  const fault = refuseTable(env.TENANTS_TABLE!);
  const log = memoryLogger();
  const runtime = createAllowlistRuntime(settings, log, { clock: steppingClock(), warn: () => undefined, storagePolicies: [fault] });
  await runtime.ensure();
  const queue = new QueueClient(azuriteConnectionString(), env.NOTIFICATION_QUEUE!);
  /** Takes every queued notification (so each step sees only its own). */
  async function take(): Promise<NotificationMessage[]> {
    const out: NotificationMessage[] = [];
    for (;;) {
      const batch = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      if (batch.receivedMessageItems.length === 0) return out;
      for (const item of batch.receivedMessageItems) {
        out.push(decodeQueueMessage(item.messageText));
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }
  async function call(method: string, id: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponseInit & { entry: AllowlistEntry }> {
    const request = new HttpRequest({
      method,
      url: `http://localhost/api/allowlist${id ? `/${id}` : ''}`,
      headers: { ...WRITER, ...headers },
      params: id ? { id } : {},
      ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
    });
    const handler = id ? handleAllowlistItem : handleAllowlistCollection;
    const response = await handler(request, new InvocationContext({ functionName: 'allowlist-test', logHandler: () => undefined }), runtime);
    return { ...response, entry: response.jsonBody as AllowlistEntry };
  }
  return { env, settings, registry, runtime, log, fault, take, call };
}

const byKind = (messages: NotificationMessage[], kind: string): NotificationMessage[] => messages.filter((m) => m.kind === kind);
const channelsOf = (messages: NotificationMessage[]): string[] => messages.map((m) => m.channelId).sort();

const body = (scope: unknown) => ({
  conditions: { thumbprint: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678', deviceName: 'build-*' },
  reason: 'customer build servers',
  owner: 'pki-team',
  expiresAt: '2025-04-01T00:00:00Z',
  scope,
});

test("a tenant's entry: created, updated and removed through the API, each change on that tenant's channels and the deployment's, never the other tenant's", async () => {
  const w = await world();
  const created = await w.call('POST', null, body({ tenantId: 'contoso' }));
  expect(created.status).toBe(201);
  const onCreate = byKind(await w.take(), 'allowlist-change');
  // soc: the deployment's; contoso-teams and soar: named by contoso; contoso-incidents-only does not subscribe.
  expect(channelsOf(onCreate)).toEqual(['contoso-teams', 'soar', 'soc']);
  // One notification id per change, the same on every channel: the ledger sends it once per channel.
  expect(new Set(onCreate.map((m) => m.notificationId)).size).toBe(1);
  expect(onCreate[0]!.payload).toMatchObject({ action: 'added', scope: 'tenant:contoso', entryId: created.entry.id });

  const updated = await w.call('PUT', created.entry.id, { ...body({ tenantId: 'contoso' }), enabled: false }, { 'if-match': created.entry.etag! });
  expect(updated.status).toBe(200);
  const onUpdate = byKind(await w.take(), 'allowlist-change');
  expect(channelsOf(onUpdate)).toEqual(['contoso-teams', 'soar', 'soc']);
  expect(onUpdate[0]!.notificationId).not.toBe(onCreate[0]!.notificationId);

  const removed = await w.call('DELETE', created.entry.id, undefined, { 'if-match': updated.entry.etag! });
  expect(removed.status).toBe(200);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['contoso-teams', 'soar', 'soc']);

  // And fabrikam's entry reaches fabrikam's channels, not contoso's.
  expect((await w.call('POST', null, body({ tenantId: 'fabrikam' }))).status).toBe(201);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['fabrikam-teams', 'soar', 'soc']);
  expect(w.log.records.filter((r) => r.message.startsWith(HEALTH_ALERT_MARKER))).toEqual([]);
});

test("a global entry stays on the deployment's channels: the provider's policy, no customer's channel", async () => {
  const w = await world();
  expect((await w.call('POST', null, body('global'))).status).toBe(201);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['soc']);
});

test("a change of scope from one tenant to another is announced on both tenants' channels", async () => {
  const w = await world();
  const created = await w.call('POST', null, body({ tenantId: 'contoso' }));
  await w.take();
  // The store refuses a change of scope (delete and create); the notifier is ready for one anyway.
  const before = created.entry;
  const after: AllowlistEntry = { ...before, scope: { tenantId: 'fabrikam' } };
  await w.runtime.notifier.announce({ action: 'update', entryId: before.id, before, after, actor: 'alice', reason: 'moved', at: '2025-03-01T01:00:00.000Z' });
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['contoso-teams', 'fabrikam-teams', 'soar', 'soc']);
});

test('the CLI announces a tenant entry on that tenant\'s channels', async () => {
  const w = await world();
  let err = '';
  const code = await runAllowlistCommand(
    ['add', '--thumbprint', 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678', '--device-name', 'build-*', '--reason', 'build signing', '--owner', 'pki', '--expires-in-days', '30', '--tenant', 'fabrikam', '--id', 'fabrikam-build'],
    { stdout: () => undefined, stderr: (s) => void (err += s), env: w.env },
  );
  expect({ code, err }).toMatchObject({ code: 0 });
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['fabrikam-teams', 'soar', 'soc']);
});

test('an empty registry (single tenant) announces every change on every subscribing channel, as before', async () => {
  const w = await world({ tenants: false });
  expect((await w.call('POST', null, body({ tenantId: 'contoso' }))).status).toBe(201);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['contoso-teams', 'fabrikam-teams', 'soar', 'soc']);
  expect((await w.call('POST', null, body('global'))).status).toBe(201);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['contoso-teams', 'fabrikam-teams', 'soar', 'soc']);
});

test('an unreadable registry: the change is saved and audited, the deployment channel gets it, the alert names the tenant', async () => {
  const w = await world();
  // This process has read the registry once (any change does).
  expect((await w.call('POST', null, body('global'))).status).toBe(201);
  await w.take();
  w.fault.on = true;
  const created = await w.call('POST', null, body({ tenantId: 'contoso' }));
  expect(created.status).toBe(201);
  expect((await w.runtime.store.getEntry(created.entry.id))?.scope).toEqual({ tenantId: 'contoso' });
  expect((await w.runtime.store.history(created.entry.id)).map((h) => h.action)).toEqual(['create']);
  const messages = await w.take();
  // Only the deployment's channel: without the registry a customer's channel cannot be told apart.
  expect(channelsOf(byKind(messages, 'allowlist-change'))).toEqual(['soc']);
  const alerts = byKind(messages, 'health');
  expect(channelsOf(alerts)).toEqual(['soc']);
  expect(alerts[0]!.payload).toMatchObject({ code: CHANGE_UNANNOUNCED_CODE, details: { tenantId: 'contoso', entryId: created.entry.id } });
  const logged = w.log.records.filter((r) => r.message.startsWith(HEALTH_ALERT_MARKER));
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ level: 'error', properties: { tenantId: 'contoso', code: CHANGE_UNANNOUNCED_CODE } });
  expect(logged[0]!.message).toContain('tenant contoso');
  expect(logged[0]!.message).toContain('cannot be read');
});

test('an unreadable registry in a process that never read it: saved, audited, logged and alerted, but no customer channel is guessed', async () => {
  const w = await world();
  w.fault.on = true;
  const created = await w.call('POST', null, body({ tenantId: 'fabrikam' }));
  expect(created.status).toBe(201);
  expect((await w.runtime.store.history(created.entry.id)).map((h) => h.action)).toEqual(['create']);
  expect(await w.take()).toEqual([]);
  const logged = w.log.records.filter((r) => r.message.startsWith(HEALTH_ALERT_MARKER));
  expect(logged.map((r) => r.properties?.tenantId)).toEqual(['fabrikam']);
  // The change record itself (the ALLOWLIST_CHANGE alert in Azure Monitor) is not affected.
});

test("an unreadable registry row: its tenant's entry still reaches the channels the row names, and the alert names nobody else", async () => {
  const w = await world();
  // A hand-edited row: the overrides are not an object, the channel ids still readable.
  await w.registry.table.updateEntity({ partitionKey: 'fabrikam', rowKey: 'config', overrides: '[1]' }, 'Merge');
  expect((await w.call('POST', null, body({ tenantId: 'contoso' }))).status).toBe(201);
  // fabrikam-teams is still fabrikam's: not a deployment channel because fabrikam's row is wrong.
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['contoso-teams', 'soar', 'soc']);
  expect((await w.call('POST', null, body({ tenantId: 'fabrikam' }))).status).toBe(201);
  expect(channelsOf(byKind(await w.take(), 'allowlist-change'))).toEqual(['fabrikam-teams', 'soar', 'soc']);
  expect(w.log.records.filter((r) => r.message.startsWith(HEALTH_ALERT_MARKER))).toEqual([]);
});

/**
 * Issue #15, the allowlist's half, through the real handlers and stores on Azurite: breadth against
 * stored recent findings (item 9), the Allowlist.Permanent role (item 9), entries written around
 * the audit (item 10), the hunt ignoring and alerting on them (item 10), and a 500 that logs the
 * path, never the function key in the query (item 12).
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import type { AllowlistApiDeps } from '../../../shared/allowlist/api';
import { handleAllowlistCollection, handleAllowlistItem, ROLE_PERMANENT, ROLE_READ, ROLE_WRITE } from '../../../shared/allowlist/api';
import { RecentFindingsStore } from '../../../shared/allowlist/recentFindings';
import { escapeKey } from '../../../shared/storage/keys';
import { makeFinding } from '../../unit/allowlist/helpers';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { makeStore, steppingClock } from './helpers';

function principal(roles: string[]): string {
  const claims = [{ typ: 'preferred_username', val: 'alice@contoso.com' }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(JSON.stringify({ claims })).toString('base64');
}
const WRITER = { 'x-ms-client-principal': principal([ROLE_READ, ROLE_WRITE]) };
const PERMANENT_WRITER = { 'x-ms-client-principal': principal([ROLE_READ, ROLE_WRITE, ROLE_PERMANENT]) };

async function setup(): Promise<AllowlistApiDeps & { changes: ReturnType<typeof makeStore>['changes']; recent: RecentFindingsStore }> {
  const clock = steppingClock('2025-03-01T00:00:00Z');
  const { store, changes } = makeStore(clock);
  const recent = new RecentFindingsStore(TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('recent'), { allowInsecureConnection: true }));
  await recent.ensure();
  // Ten findings of the last days on four devices; one was part of a HIGH chain incident.
  await recent.record(
    'contoso',
    Array.from({ length: 10 }, (_, i) => ({
      finding: makeFinding({
        id: `f${i}`,
        timestamp: `2025-02-2${i % 8}T10:00:00.000Z`,
        device: { name: `ws${i % 4}.contoso.com` },
        certificate: { subject: i < 6 ? 'CN=Dev Test' : 'CN=Other' },
      }),
      incident: i === 2 ? { id: 'inc-2', severity: 'high' as const, chain: true } : { id: `inc-${i}`, severity: 'medium' as const, chain: false },
    })),
  );
  return { store, clock, maxLifetimeDays: 90, devPrincipal: null, changes, recent, recentFindings: recent, breadth: { lookbackDays: 30, maxShare: 0.25 } };
}

async function post(deps: AllowlistApiDeps, body: unknown, headers: Record<string, string>, url = 'http://localhost/api/allowlist') {
  const request = new HttpRequest({ method: 'POST', url, headers: { 'x-allowlist-client': 'test', 'content-type': 'application/json', ...headers }, body: { string: JSON.stringify(body) } });
  const response = await handleAllowlistCollection(request, new InvocationContext({ functionName: 't', logHandler: () => undefined }), deps);
  return { status: response.status, json: response.jsonBody as Record<string, unknown> & { errors?: { field: string; message: string }[]; id?: string } };
}

const broad = { conditions: { signerSubject: 'CN=Dev Test', deviceName: 'ws*' }, reason: 'developer test certificates', owner: 'appsec', expiresAt: '2025-03-20T00:00:00Z' };

describe('item 9: breadth against recent findings', () => {
  test('an entry that would hide a chain and 60% of recent findings is refused without confirmation', async () => {
    const deps = await setup();
    const refused = await post(deps, broad, WRITER);
    expect(refused.status).toBe(422);
    expect(refused.json.breadth).toMatchObject({ total: 10, matched: 6, devices: 4, high: 1, chains: 1, needsConfirmation: expect.arrayContaining(['broad', 'chain']) });
    expect(refused.json.errors?.[0]?.field).toBe('confirm');
    expect(await deps.store.listEntries()).toEqual([]);
    expect(deps.changes).toEqual([]);
  });

  test('with an explicit confirmation it is stored, and the confirmation is in the audit record', async () => {
    const deps = await setup();
    const partial = await post(deps, { ...broad, confirm: ['broad'] }, WRITER);
    expect(partial.status).toBe(422);
    const created = await post(deps, { ...broad, confirm: ['broad', 'chain'] }, WRITER);
    expect(created.status).toBe(201);
    const [record] = await deps.store.history(created.json.id as string);
    expect(record?.override).toMatchObject({ confirmed: ['broad', 'chain'], matched: 6, total: 10, chains: 1, by: 'alice@contoso.com' });
    expect(deps.changes[0]?.override?.confirmed).toEqual(['broad', 'chain']);
  });

  test('a narrow entry needs no confirmation', async () => {
    const deps = await setup();
    const narrow = await post(deps, { ...broad, conditions: { signerSubject: 'CN=Other', deviceName: 'ws3.contoso.com' } }, WRITER);
    expect(narrow.status).toBe(201);
    const [record] = await deps.store.history(narrow.json.id as string);
    expect(record?.override).toBeNull();
  });

  test('permanent entries need the Allowlist.Permanent role', async () => {
    const deps = await setup();
    const body = { conditions: { thumbprint: 'AB12CD34AB12CD34AB12CD34AB12CD34AB12CD34', deviceName: 'pki01' }, reason: 'root CA', owner: 'pki', permanent: true };
    const denied = await post(deps, body, WRITER);
    expect(denied.status).toBe(403);
    expect(denied.json.errors?.[0]?.message).toContain(ROLE_PERMANENT);
    expect((await post(deps, body, PERMANENT_WRITER)).status).toBe(201);
  });
});

async function put(deps: AllowlistApiDeps, id: string, etag: string, body: unknown, headers: Record<string, string>) {
  const request = new HttpRequest({
    method: 'PUT',
    url: `http://localhost/api/allowlist/${id}`,
    params: { id },
    headers: { 'x-allowlist-client': 'test', 'content-type': 'application/json', 'if-match': etag, 'x-change-reason': 'pilot resumes', ...headers },
    body: { string: JSON.stringify(body) },
  });
  const response = await handleAllowlistItem(request, new InvocationContext({ functionName: 't', logHandler: () => undefined }), deps);
  return { status: response.status, etag: (response.headers as Record<string, string> | undefined)?.ETag ?? '', json: response.jsonBody as Record<string, unknown> & { errors?: { field: string; message: string }[] } };
}

describe('item 9: a change to an existing entry is measured as a new one (PUT)', () => {
  test('re-enabling a disabled broad entry needs the confirmation, which goes into the audit record; disabling and deleting never do', async () => {
    const deps = await setup();
    const paused = await deps.store.createEntry({ ...broad, scope: 'global', permanent: false, enabled: false }, 'seed');
    const enable = { ...broad, id: paused.id, enabled: true };
    const refused = await put(deps, paused.id, paused.etag!, enable, WRITER);
    expect(refused.status).toBe(422);
    expect(refused.json.errors?.[0]?.field).toBe('confirm');
    expect(refused.json.breadth).toMatchObject({ total: 10, matched: 6, chains: 1, needsConfirmation: ['broad', 'chain'] });
    expect(await deps.store.getEntry(paused.id)).toMatchObject({ enabled: false, etag: paused.etag });
    expect((await put(deps, paused.id, paused.etag!, { ...enable, confirm: ['chain'] }, WRITER)).status).toBe(422);
    const enabled = await put(deps, paused.id, paused.etag!, { ...enable, confirm: ['broad', 'chain'] }, WRITER);
    expect(enabled.status).toBe(200);
    const [record] = await deps.store.history(paused.id);
    expect(record).toMatchObject({ action: 'update', actor: 'alice@contoso.com', reason: 'pilot resumes', status: 'committed' });
    expect(record?.override).toMatchObject({ confirmed: ['broad', 'chain'], by: 'alice@contoso.com', matched: 6, total: 10, chains: 1, devices: 4, high: 1 });
    expect(deps.changes.at(-1)).toMatchObject({ action: 'update', override: { confirmed: ['broad', 'chain'] } });
    // Extending the enabled entry is measured again; disabling and deleting are not.
    expect((await put(deps, paused.id, enabled.etag, { ...enable, expiresAt: '2025-03-25T00:00:00Z' }, WRITER)).status).toBe(422);
    const disabled = await put(deps, paused.id, enabled.etag, { ...enable, enabled: false }, WRITER);
    expect(disabled.status).toBe(200);
    expect((await deps.store.history(paused.id))[0]?.override).toBeNull();
    const del = await handleAllowlistItem(
      new HttpRequest({ method: 'DELETE', url: `http://localhost/api/allowlist/${paused.id}`, params: { id: paused.id }, headers: { 'x-allowlist-client': 'test', 'if-match': disabled.etag, ...WRITER } }),
      new InvocationContext({ functionName: 't', logHandler: () => undefined }),
      deps,
    );
    expect(del.status).toBe(200);
    expect((await deps.store.history(paused.id))[0]).toMatchObject({ action: 'delete', override: null });
  });
});

describe('item 10: entries written around the audit are ignored by the hunt', () => {
  test('listEffectiveEntries keeps audited entries and names every bypass', async () => {
    const { store, entries } = makeStore(steppingClock('2025-03-01T00:00:00Z'));
    const audited = await store.createEntry(
      { conditions: { signerSubject: 'CN=Audited', deviceName: 'ws01' }, scope: 'global', reason: 'r', owner: 'o', expiresAt: '2025-03-20T00:00:00.000Z', permanent: false, enabled: true },
      'alice',
    );
    const tampered = await store.createEntry(
      { conditions: { signerSubject: 'CN=Tampered', deviceName: 'ws02' }, scope: 'global', reason: 'r', owner: 'o', expiresAt: '2025-03-20T00:00:00.000Z', permanent: false, enabled: true },
      'alice',
    );
    // Someone with table access widens an audited entry in place, keeping its audit pointer.
    await entries.updateEntity({ partitionKey: 'global', rowKey: escapeKey(tampered.id), conditions: JSON.stringify({ deviceName: 'ws*' }) }, 'Merge');
    // ...and writes entries straight into the table.
    const direct = { partitionKey: 'global', kind: 'entry', enabled: true, deleted: false, createdAt: '2025-03-01T00:00:00.000Z' };
    await entries.createEntity({ ...direct, rowKey: 'direct-1', entryId: 'direct-1', conditions: JSON.stringify({ deviceName: 'ws01' }), owner: 'x', reason: 'y', expiresAt: '2025-03-10T00:00:00.000Z', lastAuditId: 'made-up' });
    await entries.createEntity({ ...direct, rowKey: 'direct-2', entryId: 'direct-2', conditions: JSON.stringify({ deviceName: 'ws01' }) });

    const { entries: effective, ignored } = await store.listEffectiveEntries();
    expect(effective.map((e) => e.id)).toEqual([audited.id]);
    const byId = Object.fromEntries(ignored.map((i) => [i.id, i.problems]));
    expect(byId[tampered.id]).toEqual(['differs from its audit record']);
    expect(byId['direct-1']).toEqual(['no committed audit record']);
    expect(byId['direct-2']).toEqual(['no owner', 'no reason', 'no expiry', 'no committed audit record']);
  });
});

describe('item 12: a failure logs the path, not the URL with its function key', () => {
  test('?code= never reaches the log', async () => {
    const deps = await setup();
    const failing = { ...deps, store: Object.assign(Object.create(deps.store) as object, { listEntries: () => Promise.reject(new Error('storage down')) }) } as unknown as AllowlistApiDeps;
    const logged: string[] = [];
    const context = new InvocationContext({ functionName: 't', logHandler: (_level, ...args) => void logged.push(args.map(String).join(' ')) });
    const request = new HttpRequest({ method: 'GET', url: 'https://app.example.net/api/allowlist?code=SECRET-FUNCTION-KEY&x=1', headers: WRITER });
    const response = await handleAllowlistCollection(request, context, failing);
    expect(response.status).toBe(500);
    expect(logged.join('\n')).toContain('/api/allowlist');
    expect(logged.join('\n')).not.toContain('SECRET-FUNCTION-KEY');
    const item = await handleAllowlistItem(new HttpRequest({ method: 'GET', url: 'https://app.example.net/api/allowlist/x?code=SECRET2', headers: WRITER, params: { id: 'x' } }), context, {
      ...failing,
      store: Object.assign(Object.create(deps.store) as object, { getEntry: () => Promise.reject(new Error('down')) }),
    } as unknown as AllowlistApiDeps);
    expect(item.status).toBe(500);
    expect(logged.join('\n')).not.toContain('SECRET2');
  });
});

describe('item 10: the hunt ignores an unaudited entry and raises a health alert', () => {
  test('a row written straight into the table suppresses nothing and is reported once', async () => {
    const { createHarness } = await import('../../support/huntHarness');
    const { DEMO_NOW, loadDemoSample } = await import('../../../shared/demo/demo');
    const h = await createHarness({ now: DEMO_NOW, data: loadDemoSample() });
    const table = TableClient.fromConnectionString(azuriteConnectionString(), h.settings.tables.allowlist, { allowInsecureConnection: true });
    await table.createEntity({
      partitionKey: 'global',
      rowKey: 'sneaky',
      kind: 'entry',
      entryId: 'sneaky',
      conditions: JSON.stringify({ deviceName: 'kiosk-lobby-2.contoso.local' }),
      enabled: true,
      deleted: false,
    });
    const [run] = await h.runtime().runAll();
    expect(run?.counts.suppressedBy.sneaky).toBeUndefined();
    // The demo sample's two deliberately broken rows raise a rows-rejected alert of their own.
    const health = (await h.queuedMessages()).filter((m) => m.kind === 'health' && m.payload.code !== 'hunt-rows-rejected');
    expect(health.map((m) => m.kind === 'health' && m.payload.code)).toEqual(['allowlist-entries-ignored']);
    const payload = health[0]?.kind === 'health' ? health[0].payload : null;
    expect(payload?.summary).toContain('sneaky');
    expect(h.log.records.some((r) => r.message.includes('ALLOWLIST_ENTRY_IGNORED') || r.message.includes('HUNT_HEALTH_ALERT'))).toBe(true);
  });
});

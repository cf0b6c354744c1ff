/** AllowlistStore against Azurite: ETags, audit for every change, soft delete, hit batches. */
import { escapeKey, EntryConflictError, EntryNotFoundError, EntryValidationError, PreconditionFailedError, unescapeKey } from '../../../shared/allowlist/store';
import { input, makeStore } from './helpers';

test('escapeKey is reversible and removes forbidden characters', () => {
  for (const value of ['plain-id', 'a/b\\c#d?e', 'x!0041y', 'tab\there\u007f', 'tenant:abc']) {
    const key = escapeKey(value);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    expect(key).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/);
    expect(unescapeKey(key)).toBe(value);
  }
  expect(escapeKey('global')).toBe('global');
});

describe('AllowlistStore', () => {
  test('create, get, list; ids are unique across scopes', async () => {
    const { store, changes } = makeStore();
    const created = await store.createEntry(input({ id: 'contoso-pki' }), 'alice');
    expect(created).toMatchObject({ id: 'contoso-pki', createdBy: 'alice', updatedBy: 'alice', hitCount: 0, deleted: false });
    expect(created.etag).toBeTruthy();
    const got = await store.getEntry('contoso-pki');
    expect(got).toEqual(created);
    await store.createEntry(input({ id: 'tenant-one', scope: { tenantId: 'T-1' } }), 'bob');
    expect((await store.listEntries()).map((e) => e.id)).toEqual(['contoso-pki', 'tenant-one']);
    await expect(store.createEntry(input({ id: 'contoso-pki', scope: { tenantId: 'T-2' } }), 'bob')).rejects.toBeInstanceOf(EntryConflictError);
    expect(await store.getEntry('missing')).toBeNull();
    expect(await store.getEntry('bad/id')).toBeNull();
    expect(changes.map((c) => [c.action, c.entryId, c.actor])).toEqual([
      ['create', 'contoso-pki', 'alice'],
      ['create', 'tenant-one', 'bob'],
    ]);
  });

  test('update needs the current ETag; stale gives PreconditionFailedError', async () => {
    const { store } = makeStore();
    const created = await store.createEntry(input(), 'alice');
    const updated = await store.updateEntry(created.id, input({ reason: 'renewed', enabled: false }), created.etag!, 'bob');
    expect(updated).toMatchObject({ reason: 'renewed', enabled: false, updatedBy: 'bob', createdBy: 'alice' });
    expect(updated.etag).not.toBe(created.etag);
    await expect(store.updateEntry(created.id, input(), created.etag!, 'carol')).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(store.updateEntry('nope', input(), 'x', 'carol')).rejects.toBeInstanceOf(EntryNotFoundError);
    await expect(store.updateEntry(created.id, input({ scope: { tenantId: 'other' } }), updated.etag!, 'carol')).rejects.toBeInstanceOf(EntryValidationError);
    await expect(store.updateEntry(created.id, input({ id: 'different' }), updated.etag!, 'carol')).rejects.toBeInstanceOf(EntryValidationError);
    expect(await store.getEntry(created.id)).toEqual(updated);
  });

  test('a concurrent writer between read and write is caught by the ETag condition', async () => {
    const { store } = makeStore();
    const created = await store.createEntry(input(), 'alice');
    const a = store.updateEntry(created.id, input({ reason: 'a' }), created.etag!, 'a');
    const b = store.updateEntry(created.id, input({ reason: 'b' }), created.etag!, 'b');
    const results = await Promise.allSettled([a, b]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(PreconditionFailedError);
    const history = await store.history(created.id);
    // Both attempts are in the audit trail; the refused one is marked aborted.
    expect(history.map((h) => h.status).sort()).toEqual(['aborted', 'committed', 'committed']);
  });

  test('soft delete keeps the row for history; deleted entries are hidden and read-only', async () => {
    const { store, changes } = makeStore();
    const created = await store.createEntry(input(), 'alice');
    const deleted = await store.deleteEntry(created.id, created.etag!, 'bob', 'no longer used');
    expect(deleted.deleted).toBe(true);
    expect(await store.getEntry(created.id)).toBeNull();
    expect((await store.getEntry(created.id, { includeDeleted: true }))?.deleted).toBe(true);
    expect(await store.listEntries()).toEqual([]);
    expect(await store.listEntries({ includeDeleted: true })).toHaveLength(1);
    await expect(store.deleteEntry(created.id, deleted.etag!, 'bob')).rejects.toBeInstanceOf(EntryNotFoundError);
    await expect(store.updateEntry(created.id, input(), deleted.etag!, 'bob')).rejects.toBeInstanceOf(EntryNotFoundError);
    expect(changes.at(-1)).toMatchObject({ action: 'delete', actor: 'bob', reason: 'no longer used' });
  });

  test('history lists every change newest first with actor, time, before, after and reason', async () => {
    const { store } = makeStore();
    const created = await store.createEntry(input(), 'alice');
    const updated = await store.updateEntry(created.id, input({ owner: 'new-owner' }), created.etag!, 'bob', 'handover');
    await store.deleteEntry(created.id, updated.etag!, 'carol', 'retired');
    const history = await store.history(created.id);
    expect(history.map((h) => [h.action, h.actor, h.reason, h.status])).toEqual([
      ['delete', 'carol', 'retired', 'committed'],
      ['update', 'bob', 'handover', 'committed'],
      ['create', 'alice', 'internal PKI', 'committed'],
    ]);
    expect(history[2]!.before).toBeNull();
    expect(history[2]!.after?.owner).toBe('pki-team');
    expect(history[1]!.before?.owner).toBe('pki-team');
    expect(history[1]!.after?.owner).toBe('new-owner');
    expect(history[0]!.after?.deleted).toBe(true);
    expect(history[0]!.at > history[1]!.at).toBe(true);
    expect(await store.history('never-existed')).toEqual([]);
  });

  test('a pending audit record is resolved from the entry chain (crash between audit and write)', async () => {
    const { store, audit } = makeStore();
    const created = await store.createEntry(input(), 'alice');
    const updated = await store.updateEntry(created.id, input({ reason: 'x' }), created.etag!, 'bob');
    // Simulate a crash after the entry write: the "committed" mark never happened.
    const [latest] = await store.history(created.id);
    await audit.updateEntity({ partitionKey: created.id, rowKey: latest!.id, status: 'pending' }, 'Merge');
    expect((await store.history(created.id))[0]!.status).toBe('committed');
    // And a crash before the entry write: a pending record nobody points to, followed by a
    // later committed change, was never applied.
    await audit.createEntity({ partitionKey: created.id, rowKey: '9999999999998-0000-00000000', action: 'update', actor: 'ghost', at: '1970-01-01T00:00:00Z', reason: 'r', before: '', after: '', status: 'pending', previousAuditId: '' });
    await store.updateEntry(created.id, input({ reason: 'y' }), updated.etag!, 'carol');
    const history = await store.history(created.id);
    expect(history.find((h) => h.actor === 'ghost')?.status).toBe('aborted');
  });

  test('recordHits adds counts in batches without touching the entry ETag', async () => {
    const { store } = makeStore();
    const ids: string[] = [];
    for (let i = 0; i < 105; i++) ids.push((await store.createEntry(input({ id: `e${i}` }), 'alice')).id);
    const tenant = await store.createEntry(input({ id: 'tenant-entry', scope: { tenantId: 't1' } }), 'alice');
    const before = await store.getEntry('e0');
    const hits = new Map(ids.map((id) => [id, { count: 2, lastHitAt: '2025-03-02T00:00:00.000Z' }]));
    hits.set(tenant.id, { count: 1, lastHitAt: '2025-03-02T00:00:00.000Z' });
    hits.set('unknown-id', { count: 1, lastHitAt: '2025-03-02T00:00:00.000Z' });
    const first = await store.recordHits(hits);
    expect(first.updated).toHaveLength(106);
    expect(first.unknown).toEqual(['unknown-id']);
    await store.recordHits(new Map([['e0', { count: 3, lastHitAt: '2025-03-01T12:00:00.000Z' }]]));
    const after = await store.getEntry('e0');
    expect(after).toMatchObject({ hitCount: 5, lastHitAt: '2025-03-02T00:00:00.000Z' });
    expect(after?.etag).toBe(before?.etag);
    expect((await store.getEntry('e104'))?.hitCount).toBe(2);
    expect((await store.getEntry('tenant-entry'))?.hitCount).toBe(1);
    expect((await store.listEntries()).reduce((sum, e) => sum + e.hitCount, 0)).toBe(105 * 2 + 1 + 3);
  });

  test('concurrent hit batches are neither lost nor doubled (ETag retry)', async () => {
    const { store } = makeStore();
    await store.createEntry(input({ id: 'busy' }), 'alice');
    const batch = new Map([['busy', { count: 1, lastHitAt: '2025-03-02T00:00:00.000Z' }]]);
    await Promise.all(Array.from({ length: 5 }, () => store.recordHits(batch)));
    expect((await store.getEntry('busy'))?.hitCount).toBe(5);
  });
});

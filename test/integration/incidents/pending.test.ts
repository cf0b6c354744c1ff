/**
 * IncidentStore against Azurite: escalations are announced at once, and updates held back by the
 * interval come out of `pendingAnnouncements` once it has passed (exactly once), within a request
 * budget.
 */
import { IncidentStore, type Announcement } from '../../../shared/incidents/store';
import type { Finding } from '../../../shared/model/finding';
import { validateIncident } from '../../../shared/schema/validate';
import { at, certutilAddStore, newSelfSignedCert, setAuthenticode, signtoolSign } from '../../support/findings';
import { build, countingTable, HOUR, RULE, TENANT } from './support';

const opts = { updateIntervalMs: HOUR };

async function upsert(store: IncidentStore, findings: Finding[], now: string): Promise<Announcement[]> {
  return store.upsertIncidents(build(findings, now), new Date(now), opts);
}

async function mark(store: IncidentStore, announcements: Announcement[], now: string): Promise<void> {
  await store.markAnnounced(
    announcements.map((a) => a.incident),
    new Date(now),
  );
}

async function pending(store: IncidentStore, now: string): Promise<Announcement[]> {
  return store.pendingAnnouncements(TENANT, RULE, new Date(now), opts);
}

describe('escalation is never held back', () => {
  test('a trust-store import joining the announced creation 10 minutes later is announced at once', async () => {
    const store = new IncidentStore((await countingTable('esc')).table);
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const root = certutilAddStore('Root', 'contoso.cer', { minutes: 12 });
    const [created] = await upsert(store, [create], at(5));
    await mark(store, [created!], at(5));
    expect(created!.incident).toMatchObject({ chain: false, severity: 'medium' });

    const escalated = await upsert(store, [create, root], at(15));
    expect(escalated).toHaveLength(1);
    expect(escalated[0]).toMatchObject({
      kind: 'update',
      previousFindingCount: 1,
      incident: { id: created!.incident.id, chain: true, severity: 'high', status: 'updated', findingCount: 2 },
    });
    expect(escalated[0]!.incident.findings.map((f) => f.id)).toEqual([create.id, root.id]);
    expect(validateIncident(escalated[0]!.incident)).toEqual([]);
    await mark(store, escalated, at(15));
    expect(await store.get(TENANT, RULE, created!.incident.id)).toMatchObject({
      announcedSeverity: 'high',
      announcedChain: true,
      announcedFindingCount: 2,
      pendingSince: null,
      pendingPayload: null,
    });

    // More of the same afterwards waits for the interval again.
    const root2 = certutilAddStore('Root', 'contoso.cer', { minutes: 20 });
    expect(await upsert(store, [create, root, root2], at(25))).toEqual([]);
  });

  test('a severity rise without a chain is announced at once; more of the same is not', async () => {
    const store = new IncidentStore((await countingTable('esc')).table);
    const f1 = newSelfSignedCert('CN=Rise', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Rise', { minutes: 5 });
    const f3 = newSelfSignedCert('CN=Rise', { minutes: 10, flags: { suspiciousParent: true }, parent: { fileName: 'winword.exe' } });
    const [created] = await upsert(store, [f1], at(2));
    await mark(store, [created!], at(2));
    expect(await upsert(store, [f1, f2], at(7))).toEqual([]);
    const [rose] = await upsert(store, [f1, f2, f3], at(12));
    expect(rose).toMatchObject({ kind: 'update', previousFindingCount: 1, incident: { severity: 'high', chain: false, findingCount: 3 } });
    // The update carries the held-back finding too, not only the one that escalated.
    expect(rose!.incident.findings.map((f) => f.id)).toEqual([f1.id, f2.id, f3.id]);
  });

  test('an escalation announced but never marked comes back at once from pendingAnnouncements', async () => {
    const store = new IncidentStore((await countingTable('esc')).table);
    const create = newSelfSignedCert('CN=Crash', { minutes: 0 });
    const sign = setAuthenticode(undefined, { minutes: 8 });
    await mark(store, await upsert(store, [create], at(5)), at(5));
    const [lost] = await upsert(store, [create, sign], at(10));
    expect(lost).toMatchObject({ kind: 'update', incident: { chain: true } });
    // The process died before enqueueing: the next cycle, well within the interval, sends it.
    const again = await pending(store, at(20));
    expect(again.map((a) => [a.kind, a.incident.id, a.incident.chain, a.incident.severity])).toEqual([['update', lost!.incident.id, true, 'high']]);
    await mark(store, again, at(20));
    expect(await pending(store, at(30))).toEqual([]);
  });

  test('marking a revision records what its minted Incident said (severity, chain): no endless escalation', async () => {
    const store = new IncidentStore((await countingTable('esc')).table);
    const create = newSelfSignedCert('CN=Bare', { minutes: 0 });
    const root = certutilAddStore('Root', 'bare.cer', { minutes: 5 });
    const [created] = await upsert(store, [create], at(1));
    await mark(store, [created!], at(1));
    const [escalated] = await upsert(store, [create, root], at(6));
    const { tenantId, ruleId, id, revision } = escalated!.incident;
    expect(revision).toBe(2);
    await store.markAnnounced([{ tenantId, ruleId, id, revision }], new Date(at(6)));
    expect(await upsert(store, [create, root], at(7))).toEqual([]);
    expect(await pending(store, at(8))).toEqual([]);
  });

  test('rows written before the announced columns existed read as announced as stored', async () => {
    const { table } = await countingTable('legacy');
    const store = new IncidentStore(table);
    const create = newSelfSignedCert('CN=Legacy', { minutes: 0 });
    const [created] = await upsert(store, [create], at(1));
    await mark(store, [created!], at(1));
    // Rewrite the row as version 1 wrote it.
    const id = created!.incident.id;
    const pk = (await store.get(TENANT, RULE, id))!.partitionKey;
    const entity = await table.getEntity<Record<string, unknown>>(pk, id);
    const { etag: _etag, timestamp: _ts, announcedSeverity: _s, announcedChain: _c, pendingSince: _p, escalationPending: _e, pendingPayload: _pp, ...v1 } = entity;
    await table.updateEntity({ ...v1, partitionKey: pk, rowKey: id, rowVersion: 1 }, 'Replace');
    expect(await store.get(TENANT, RULE, id)).toMatchObject({ announcedSeverity: 'medium', announcedChain: false, pendingSince: null });

    expect(await pending(store, at(2))).toEqual([]);
    expect(await upsert(store, [create], at(3))).toEqual([]);
    const [escalated] = await upsert(store, [create, certutilAddStore('Root', 'legacy.cer', { minutes: 4 })], at(5));
    expect(escalated).toMatchObject({ kind: 'update', incident: { id, chain: true } });
  });
});

describe('held-back updates are not lost', () => {
  test('comes out of pendingAnnouncements after the interval, not before, and exactly once', async () => {
    const counted = await countingTable('pending');
    const store = new IncidentStore(counted.table);
    const f1 = newSelfSignedCert('CN=Quiet', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Quiet', { minutes: 10 });
    const f3 = newSelfSignedCert('CN=Quiet', { minutes: 20 });
    const [created] = await upsert(store, [f1], at(5));
    await mark(store, [created!], at(5));
    // Two later windows each see one new finding, within the hour: both held back.
    expect(await upsert(store, [f1, f2], at(15))).toEqual([]);
    expect(await upsert(store, [f1, f2, f3], at(25))).toEqual([]);
    const row = (await store.get(TENANT, RULE, created!.incident.id))!;
    expect(row).toMatchObject({ findingCount: 3, announcedFindingCount: 1, pendingSince: at(15) });

    expect(await pending(store, at(30))).toEqual([]);
    expect(await pending(store, at(64))).toEqual([]);
    // No window sees the incident again; the interval ends at 65.
    const due = await pending(store, at(66));
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({
      kind: 'update',
      previousFindingCount: 1,
      incident: { id: created!.incident.id, status: 'updated', findingCount: 3, firstSeen: f1.timestamp, lastSeen: f3.timestamp },
    });
    // The story's evidence as the held-back cycles told it, and the full id list from the row.
    expect(due[0]!.incident.findings.map((f) => f.id)).toEqual([f1.id, f2.id, f3.id]);
    expect(due[0]!.incident.findingIds).toEqual([f1.id, f2.id, f3.id]);
    expect(validateIncident(due[0]!.incident)).toEqual([]);
    // Not marked yet (enqueue pending): asking again returns it again.
    expect(await pending(store, at(67))).toHaveLength(1);

    await mark(store, due, at(67));
    expect(await store.get(TENANT, RULE, created!.incident.id)).toMatchObject({ pendingSince: null, pendingPayload: null, announcedFindingCount: 3 });
    expect(await pending(store, at(68))).toEqual([]);
    expect(await pending(store, at(500))).toEqual([]);
  });

  test('a crash before markAnnounced of a new incident is recovered without seeing it again', async () => {
    const store = new IncidentStore((await countingTable('pending')).table);
    const f = newSelfSignedCert('CN=Lost', { minutes: 0 });
    const [lost] = await upsert(store, [f], at(5));
    // Same instant as the upsert: that is what the upsert itself just returned.
    expect(await pending(store, at(5))).toEqual([]);
    const next = await pending(store, at(15));
    expect(next.map((a) => [a.kind, a.incident.id, a.previousFindingCount])).toEqual([['new', lost!.incident.id, 0]]);
    expect(next[0]!.incident.status).toBe('new');
    await mark(store, next, at(15));
    expect(await pending(store, at(25))).toEqual([]);
  });

  test('markAnnounced of a smaller count leaves the rest pending', async () => {
    const store = new IncidentStore((await countingTable('pending')).table);
    const f1 = newSelfSignedCert('CN=Race', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Race', { minutes: 1 });
    const [announced] = await upsert(store, [f1], at(5));
    await upsert(store, [f1, f2], at(6));
    await mark(store, [announced!], at(7));
    expect(await pending(store, at(30))).toEqual([]);
    expect((await pending(store, at(70))).map((a) => [a.kind, a.previousFindingCount, a.incident.findingCount])).toEqual([['update', 1, 2]]);
  });

  test('nothing pending costs exactly one request, whatever else the partition holds', async () => {
    const counted = await countingTable('pending');
    const store = new IncidentStore(counted.table);
    // Announced incidents, a chain with its alias row, and a held-back update not due yet.
    const device = (i: number) => ({ id: `dev-${i}`, name: `WS-${i}` });
    const many = Array.from({ length: 30 }, (_, i) => signtoolSign(`f${i}.exe`, { subject: `Signer ${i}` }, { minutes: i, device: device(i) }));
    await mark(store, await upsert(store, many, at(40)), at(40));
    const create = newSelfSignedCert('CN=Chain', { minutes: 0 });
    const sign = setAuthenticode(undefined, { minutes: 3 });
    await mark(store, await upsert(store, [create, sign], at(41)), at(41));
    await upsert(store, [many[0]!, signtoolSign('f0.exe', { subject: 'Signer 0' }, { minutes: 45, device: device(0) })], at(50));

    counted.reset();
    expect(await pending(store, at(60))).toEqual([]);
    expect(counted.requests()).toBe(1);
    // Once the held-back one is due: the query, and one transaction that mints its revision.
    counted.reset();
    expect(await pending(store, at(101))).toHaveLength(1);
    expect(counted.requests()).toBe(2);
  });

  test('a pending payload too large for a property keeps the newest evidence and still announces', async () => {
    const store = new IncidentStore((await countingTable('pending')).table);
    const noisy = (minutes: number): Finding => {
      const f = newSelfSignedCert('CN=Noisy', { minutes, commandLine: `powershell.exe -Command "${'x'.repeat(3000)}"` });
      f.raw = { ProcessCommandLine: f.commandLine, AdditionalFields: 'y'.repeat(4000) };
      return f;
    };
    const first = noisy(0);
    const [created] = await upsert(store, [first], at(1));
    await mark(store, [created!], at(1));
    const held = Array.from({ length: 40 }, (_, i) => noisy(2 + i));
    expect(JSON.stringify(build([first, ...held], at(45))[0]).length).toBeGreaterThan(300_000);
    expect(await upsert(store, [first, ...held], at(45))).toEqual([]);
    const row = (await store.get(TENANT, RULE, created!.incident.id))!;
    expect(row.pendingPayload!.length).toBeLessThanOrEqual(30_000);

    const [due] = await pending(store, at(62));
    expect(due).toMatchObject({ kind: 'update', previousFindingCount: 1, incident: { findingCount: 41 } });
    const kept = due!.incident.findings.map((f) => f.id);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(40);
    // The newest survive.
    expect(kept).toEqual(held.slice(held.length - kept.length).map((f) => f.id));
    expect(due!.incident.findingIds).toHaveLength(41);
    expect(validateIncident(due!.incident)).toEqual([]);
  });
});

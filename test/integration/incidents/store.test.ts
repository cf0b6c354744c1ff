import { TableClient, type TransactionAction } from '@azure/data-tables';
import { buildIncidents, type BuildContext } from '../../../shared/incidents/build';
import { IncidentStore, incidentPartitionKey } from '../../../shared/incidents/store';
import type { Finding } from '../../../shared/model/finding';
import type { Incident } from '../../../shared/model/incident';
import { validateIncident } from '../../../shared/schema/validate';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { at, certutilAddStore, makeRuleContext, newSelfSignedCert, setAuthenticode, signtoolSign } from '../../support/findings';

const HOUR = 60 * 60 * 1000;
const TENANT = 'tenant-1';

async function newTable(): Promise<TableClient> {
  const table = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('incidents'), { allowInsecureConnection: true });
  await table.createTable();
  return table;
}

function build(findings: Finding[], now: string, tenantId = TENANT): Incident[] {
  const ctx: BuildContext = { tenantId, rule: makeRuleContext(), now: new Date(now), chainWindowMs: 2 * HOUR };
  return buildIncidents(findings, ctx);
}

/** A hunt cycle as the caller runs it: build, upsert, "enqueue", mark. */
async function cycle(store: IncidentStore, findings: Finding[], now: string) {
  const announcements = await store.upsertIncidents(build(findings, now), new Date(now), { updateIntervalMs: HOUR });
  await store.markAnnounced(
    announcements.map((a) => a.incident),
    new Date(now),
  );
  return announcements;
}

async function rowCount(table: TableClient): Promise<number> {
  let n = 0;
  for await (const _ of table.listEntities()) n++;
  return n;
}

describe('IncidentStore (Azurite)', () => {
  test('the same window processed twice: one incident, one announcement', async () => {
    const table = await newTable();
    const store = new IncidentStore(table);
    const findings = [newSelfSignedCert('CN=Contoso Dev', { minutes: 0 }), newSelfSignedCert('CN=Contoso Dev', { minutes: 3 })];

    const first = await cycle(store, findings, at(60));
    expect(first.map((a) => a.kind)).toEqual(['new']);
    expect(first[0]!.previousFindingCount).toBe(0);
    expect(validateIncident(first[0]!.incident)).toEqual([]);
    expect(await cycle(store, findings, at(65))).toEqual([]);
    expect(await rowCount(table)).toBe(1);

    const row = await store.get(TENANT, 't1587-002', first[0]!.incident.id);
    expect(row).toMatchObject({ findingCount: 2, announcedFindingCount: 2, lastAnnouncedAt: at(60), status: 'new', severity: first[0]!.incident.severity });
    expect(row!.findingIds.map((f) => f.id)).toEqual(findings.map((f) => f.id));
  });

  test('two overlapping windows: the same incident from each, announced once', async () => {
    const table = await newTable();
    const store = new IncidentStore(table);
    const a = newSelfSignedCert('CN=Contoso Dev', { minutes: 30 });
    const b = newSelfSignedCert('CN=Contoso Dev', { minutes: 50 });
    // Window 1 [09:00, 11:00) and window 2 [10:00, 12:00) both hold a and b.
    const w1 = build([a, b], at(60));
    const w2 = build([a, b], at(120));
    expect(w1).toHaveLength(1);
    expect(w2).toHaveLength(1);
    expect(w2[0]!.id).toBe(w1[0]!.id);
    expect(await cycle(store, [a, b], at(60))).toHaveLength(1);
    expect(await cycle(store, [a, b], at(120))).toEqual([]);
    expect(await rowCount(table)).toBe(1);
  });

  test('a crash between upsert and markAnnounced re-announces next cycle instead of losing it', async () => {
    const store = new IncidentStore(await newTable());
    const findings = [newSelfSignedCert('CN=Crash')];
    const lost = await store.upsertIncidents(build(findings, at(10)), new Date(at(10)));
    expect(lost.map((a) => a.kind)).toEqual(['new']);
    // No markAnnounced: the process died before the notification was enqueued.
    const again = await cycle(store, findings, at(20));
    expect(again.map((a) => a.kind)).toEqual(['new']);
    expect(await cycle(store, findings, at(30))).toEqual([]);
  });

  test('a minted announcement that was never marked is re-sent as minted; what merged meanwhile waits for the next revision', async () => {
    const store = new IncidentStore(await newTable());
    const f1 = newSelfSignedCert('CN=Minted', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Minted', { minutes: 20 });
    const f3 = newSelfSignedCert('CN=Minted', { minutes: 30 });
    const [minted] = await store.upsertIncidents(build([f1], at(10)), new Date(at(10)), { updateIntervalMs: HOUR });
    expect(minted).toMatchObject({ kind: 'new', revision: 1, mintedAt: at(10), resent: false, incident: { revision: 1, findingCount: 1 } });
    // Crash: enqueued, never marked. The next cycle merges f2 and owes exactly the same announcement.
    const [again] = await store.upsertIncidents(build([f1, f2], at(20)), new Date(at(20)), { updateIntervalMs: HOUR });
    expect(again).toEqual({ ...minted, resent: true });
    // Marking an unknown revision changes nothing; marking the minted one records what it said.
    await store.markAnnounced([{ ...again!.incident, revision: 7 }], new Date(at(21)));
    expect((await store.get(TENANT, 't1587-002', minted!.incident.id))?.minted?.revision).toBe(1);
    await store.markAnnounced([again!.incident], new Date(at(21)));
    expect(await store.get(TENANT, 't1587-002', minted!.incident.id)).toMatchObject({
      revision: 1,
      announcedRevision: 1,
      minted: null,
      findingCount: 2,
      announcedFindingCount: 1,
    });
    // Marking twice is harmless.
    await store.markAnnounced([again!.incident], new Date(at(22)));
    // f2 (and f3) go out as revision 2 once the interval has passed: an update, never a second `new`.
    const [update] = await store.upsertIncidents(build([f1, f2, f3], at(90)), new Date(at(90)), { updateIntervalMs: HOUR });
    expect(update).toMatchObject({ kind: 'update', revision: 2, previousFindingCount: 1, incident: { revision: 2, findingCount: 3, status: 'updated' } });
    expect(validateIncident(update!.incident)).toEqual([]);
  });

  test('new findings later: one update, never more often than the interval', async () => {
    const store = new IncidentStore(await newTable());
    const f1 = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Contoso Dev', { minutes: 10 });
    const f3 = newSelfSignedCert('CN=Contoso Dev', { minutes: 20 });
    const f4 = newSelfSignedCert('CN=Contoso Dev', { minutes: 100 });

    expect((await cycle(store, [f1], at(5))).map((a) => a.kind)).toEqual(['new']);
    // Within the hour after the announcement: new findings are stored, not announced yet.
    expect(await cycle(store, [f1, f2], at(15))).toEqual([]);
    expect(await cycle(store, [f1, f2, f3], at(25))).toEqual([]);
    // The interval has passed: one update carrying both new findings.
    const update = await cycle(store, [f1, f2, f3], at(66));
    expect(update).toHaveLength(1);
    expect(update[0]).toMatchObject({ kind: 'update', previousFindingCount: 1 });
    expect(update[0]!.incident).toMatchObject({ status: 'updated', findingCount: 3, firstSeen: f1.timestamp, lastSeen: f3.timestamp });
    expect(validateIncident(update[0]!.incident)).toEqual([]);
    // Nothing new: nothing, however late.
    expect(await cycle(store, [f1, f2, f3], at(200))).toEqual([]);
    // Another new finding right after the update waits for the interval again.
    expect(await cycle(store, [f1, f2, f3, f4], at(110))).toEqual([]);
    expect((await cycle(store, [f1, f2, f3, f4], at(127))).map((a) => a.kind)).toEqual(['update']);
  });

  test('markAnnounced records the announced count: findings that arrived meanwhile stay pending', async () => {
    const store = new IncidentStore(await newTable());
    const f1 = newSelfSignedCert('CN=Race', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Race', { minutes: 1 });
    const [announced] = await store.upsertIncidents(build([f1], at(5)), new Date(at(5)));
    // Another cycle adds f2 before the first one marks.
    await store.upsertIncidents(build([f1, f2], at(6)), new Date(at(6)));
    await store.markAnnounced([announced!.incident], new Date(at(7)));
    const row = await store.get(TENANT, 't1587-002', announced!.incident.id);
    expect(row).toMatchObject({ findingCount: 2, announcedFindingCount: 1 });
    const later = await store.upsertIncidents(build([f1, f2], at(70)), new Date(at(70)));
    expect(later.map((a) => [a.kind, a.previousFindingCount])).toEqual([['update', 1]]);
  });

  test('an alias (a chain of an earlier version absorbed another incident) routes later updates to its incident', async () => {
    const store = new IncidentStore(await newTable());
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = setAuthenticode(undefined, { minutes: 30 });
    const [chain] = build([create, sign], at(40));
    const aliasId = 'a11a5a11a5a11a5a11a5a11a5a11a5a1';
    const first = await store.upsertIncidents([{ ...chain!, chainLink: { ...chain!.chainLink!, mergedIncidentIds: [aliasId] } }], new Date(at(40)));
    expect(first).toHaveLength(1);
    expect(await store.get(TENANT, 't1587-002', aliasId)).toMatchObject({ mergedInto: chain!.id, findingCount: 0 });
    // A later incident under the alias id updates the chain incident.
    const sign2 = setAuthenticode('again.ps1', { minutes: 50 });
    const [under] = build([sign2], at(60));
    const next = await store.upsertIncidents([{ ...under!, id: aliasId }], new Date(at(60)));
    expect(next.map((x) => x.incident.id)).toEqual([chain!.id]);
    expect(await store.get(TENANT, 't1587-002', chain!.id)).toMatchObject({ findingCount: 3 });
    expect(await store.get(TENANT, 't1587-002', aliasId)).toMatchObject({ mergedInto: chain!.id, findingCount: 0 });
  });

  test('the creation first, then the chain: the creation incident is updated and escalated', async () => {
    const store = new IncidentStore(await newTable());
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const root = certutilAddStore('Root', 'contoso.cer', { minutes: 50 });
    const [created] = await cycle(store, [create], at(10));
    expect(created!.incident.chain).toBe(false);
    const [escalated] = await cycle(store, [create, root], at(75));
    expect(escalated).toMatchObject({ kind: 'update', incident: { id: created!.incident.id, chain: true, severity: 'high' } });
  });

  test('concurrent writers: a 412 re-reads and merges instead of losing findings', async () => {
    const table = await newTable();
    const store = new IncidentStore(table);
    const f1 = newSelfSignedCert('CN=Busy', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Busy', { minutes: 1 });
    const f3 = newSelfSignedCert('CN=Busy', { minutes: 2 });
    const [first] = await cycle(store, [f1], at(5));
    const id = first!.incident.id;

    // Another instance writes f2 right after this one read the row (between read and write).
    let interfered = false;
    const racing = new Proxy(table, {
      get(target, prop, receiver) {
        if (prop === 'submitTransaction') {
          return async (actions: TransactionAction[]) => {
            if (!interfered) {
              interfered = true;
              await new IncidentStore(table).upsertIncidents(build([f1, f2], at(6)), new Date(at(6)));
            }
            return target.submitTransaction(actions);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    await new IncidentStore(racing).upsertIncidents(build([f1, f3], at(7)), new Date(at(7)));
    expect(interfered).toBe(true);
    const row = await store.get(TENANT, 't1587-002', id);
    expect(row!.findingCount).toBe(3);
    expect(row!.findingIds.map((f) => f.id).sort()).toEqual([f1.id, f2.id, f3.id].sort());
  });

  test('finding ids are bounded: the latest N are kept, the count stays exact, re-runs stay quiet', async () => {
    const store = new IncidentStore(await newTable(), { maxStoredFindingIds: 5 });
    const findings = Array.from({ length: 12 }, (_, i) => newSelfSignedCert('CN=Chatty', { minutes: i }));
    expect(await cycle(store, findings, at(30))).toHaveLength(1);
    const row = (await store.get(TENANT, 't1587-002', build(findings, at(30))[0]!.id))!;
    expect(row.findingCount).toBe(12);
    expect(row.findingIds.map((f) => f.id)).toEqual(findings.slice(7).map((f) => f.id));
    expect(row.findingIdsFloor).toBe(Date.parse(findings[6]!.timestamp));
    expect(await cycle(store, findings, at(200))).toEqual([]);
    const more = [...findings, newSelfSignedCert('CN=Chatty', { minutes: 20 })];
    expect((await cycle(store, more, at(210))).map((a) => a.incident.findingCount)).toEqual([13]);
  });

  test('more than 100 incidents in one partition are written in several transactions', async () => {
    const table = await newTable();
    const store = new IncidentStore(table);
    const findings = Array.from({ length: 130 }, (_, i) => signtoolSign(`f${i}.exe`, { subject: `Signer ${i}` }, { minutes: i % 60, device: { id: `dev-${i}`, name: `WS-${i}` } }));
    const announcements = await cycle(store, findings, at(90));
    expect(announcements).toHaveLength(130);
    expect(await rowCount(table)).toBe(130);
    expect(await cycle(store, findings, at(95))).toEqual([]);
  });

  test('tenant and rule are escaped into the partition key', async () => {
    const table = await newTable();
    const store = new IncidentStore(table);
    const tenant = 'contoso/eu#1?x\\y|z';
    expect(incidentPartitionKey(tenant, 'rule|2')).toBe('contoso%2Feu%231%3Fx%5Cy%7Cz|rule%7C2');
    const incidents = build([newSelfSignedCert('CN=Esc')], at(10), tenant);
    expect(await store.upsertIncidents(incidents, new Date(at(10)))).toHaveLength(1);
    expect(await store.get(tenant, 't1587-002', incidents[0]!.id)).not.toBeNull();
  });
});

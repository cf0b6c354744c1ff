/** The recent-findings table on Azurite: record, filters, look-back, purge, and no rewrite of unchanged rows. */
import { TableClient } from '@azure/data-tables';
import { RecentFindingsStore } from '../../../shared/allowlist/recentFindings';
import { makeFinding } from '../../unit/allowlist/helpers';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

const table = () => TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('recent'), { allowInsecureConnection: true });
const at = (day: number) => `2025-03-${String(day).padStart(2, '0')}T10:00:00.000Z`;

test('record, filter by tenant, entry and incident, within the look-back; purge whole days', async () => {
  const client = table();
  const store = new RecentFindingsStore(client);
  await store.record('a', [
    { finding: makeFinding({ id: 'f1', timestamp: at(1) }), incident: { id: 'i1', severity: 'high', chain: true } },
    { finding: makeFinding({ id: 'f2', timestamp: at(5), suppressedBy: 'e1' }), incident: null },
  ]);
  await store.record('b', [{ finding: makeFinding({ id: 'f3', timestamp: at(6) }), incident: { id: 'i3', severity: 'low', chain: false } }]);
  const all = await store.list({ since: new Date(at(1)), until: new Date(at(7)) });
  expect(all.findings.map((r) => r.finding.id).sort()).toEqual(['f1', 'f2', 'f3']);
  expect((await store.list({ since: new Date(at(1)), until: new Date(at(7)), tenantId: 'b' })).findings.map((r) => r.finding.id)).toEqual(['f3']);
  expect((await store.list({ since: new Date(at(1)), until: new Date(at(7)), suppressedBy: 'e1' })).findings.map((r) => r.finding.id)).toEqual(['f2']);
  const [f1] = (await store.list({ since: new Date(at(1)), until: new Date(at(7)), incidentId: 'i1' })).findings;
  expect(f1).toMatchObject({ tenantId: 'a', incident: { id: 'i1', severity: 'high', chain: true }, finding: { id: 'f1', suppressedBy: null } });
  expect((await store.list({ since: new Date(at(2)), until: new Date(at(7)) })).findings.map((r) => r.finding.id).sort()).toEqual(['f2', 'f3']);
  expect(await store.list({ since: new Date(at(1)), until: new Date(at(7)), limit: 2 })).toMatchObject({ truncated: true });
  expect(await store.purgeBefore(new Date(at(5)))).toBe(1);
  expect((await store.list({ since: new Date(at(1)), until: new Date(at(7)) })).findings).toHaveLength(2);
});

test('an unchanged finding seen again (overlapping windows) is not rewritten; a changed one is', async () => {
  const client = table();
  const store = new RecentFindingsStore(client);
  const submit = jest.spyOn(client, 'submitTransaction');
  const item = { finding: makeFinding({ id: 'f1', timestamp: at(1) }), incident: { id: 'i1', severity: 'medium' as const, chain: false } };
  await store.record('a', [item]);
  await store.record('a', [item]);
  expect(submit).toHaveBeenCalledTimes(1);
  await store.record('a', [{ ...item, incident: { ...item.incident, chain: true } }]);
  expect(submit).toHaveBeenCalledTimes(2);
  const [row] = (await store.list({ since: new Date(at(1)), until: new Date(at(2)) })).findings;
  expect(row?.incident?.chain).toBe(true);
});

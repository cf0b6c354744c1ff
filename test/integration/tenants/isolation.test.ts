/**
 * Two tenants whose Defender holds the very same rows (only the tenant differs), hunted by the
 * fan-out and the tenant worker: each tenant's checkpoints, incidents, recent steps, runs,
 * allowlist and notifications stay its own. A tenant-scoped allowlist entry suppresses only its
 * tenant; a global entry suppresses both. Nothing of one tenant is read, suppressed or announced
 * for the other.
 */
import { AllowlistStore } from '../../../shared/allowlist/store';
import sample from '../../../shared/demo/sample-hunting-results.json';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { spreadRows } from '../../../shared/hunting/tenantGraphServer';
import type { IncidentMessage } from '../../../shared/notify/message';
import { escapeKey } from '../../../shared/storage/keys';
import { createTenantWorld, localTenantId, type TenantWorld } from '../../support/tenantHarness';

const NOW = new Date('2026-11-26T12:00:00Z');
const ROWS = spreadRows(normaliseHuntingResults(sample), NOW.getTime() - 55 * 60_000, NOW.getTime() - 10 * 60_000);
const RULE = 't1587-002';

let world: TenantWorld;

beforeEach(async () => {
  world = await createTenantWorld({ now: NOW, channelsFor: ['alpha', 'bravo'] });
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  await world.addTenant({ key: 'bravo', tid: localTenantId(2), rows: ROWS });
});
afterEach(() => world.close());

async function incidentsOf(tenant: string): Promise<{ id: string; tenantId: string; findings: number }[]> {
  const table = world.storage.table(world.settings.tables.incidents);
  const rows: { id: string; tenantId: string; findings: number }[] = [];
  for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${escapeKey(tenant)}|${RULE}'` } })) {
    // Alias rows point at the chain an incident was merged into; they are not incidents of their own.
    if (!entity.mergedInto) rows.push({ id: String(entity.rowKey), tenantId: String(entity.tenantId), findings: Number(entity.findingCount ?? 0) });
  }
  return rows;
}

test('identical rows in two tenants: each tenant gets its own checkpoint, runs, incidents and notifications', async () => {
  const fanned = await world.tick();
  expect(fanned.enqueued.sort()).toEqual(['alpha', 'bravo']);
  await world.drain(2);

  // Each tenant's calls carried its own token; each got its rows.
  expect([...world.server.calls.keys()].sort()).toEqual([localTenantId(1), localTenantId(2)]);
  expect(world.results.map((r) => [r.job.tenant, r.outcome]).sort()).toEqual([
    ['alpha', 'succeeded'],
    ['bravo', 'succeeded'],
  ]);

  for (const tenant of ['alpha', 'bravo']) {
    const state = await world.checkpoints.read(tenant, RULE);
    expect(state.checkpoint?.toISOString()).toBe(new Date(NOW.getTime() - 5 * 60_000).toISOString());
    const runs = await world.checkpoints.listRuns(tenant, RULE);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ tenantId: tenant, outcome: 'succeeded' });
  }
  const [alpha, bravo] = [await incidentsOf('alpha'), await incidentsOf('bravo')];
  expect(alpha.length).toBeGreaterThan(0);
  expect(bravo).toHaveLength(alpha.length);
  expect(alpha.every((i) => i.tenantId === 'alpha')).toBe(true);
  expect(bravo.every((i) => i.tenantId === 'bravo')).toBe(true);
  // Same rows, different tenant: never the same incident (the id covers the tenant).
  expect(alpha.filter((a) => bravo.some((b) => b.id === a.id))).toEqual([]);

  const messages = (await world.notificationMessages()).filter((m): m is IncidentMessage => m.kind === 'incident');
  const byChannel = (channel: string) => messages.filter((m) => m.channelId === channel).map((m) => m.payload.incident.tenantId);
  expect(new Set(byChannel('alpha-hook'))).toEqual(new Set(['alpha']));
  expect(new Set(byChannel('bravo-hook'))).toEqual(new Set(['bravo']));
  expect(byChannel('alpha-hook')).toHaveLength(alpha.length);
  // The provider's SOC hears both, as distinct notifications (its delivery ledger keys them apart).
  expect(byChannel('soc').sort()).toEqual([...byChannel('alpha-hook'), ...byChannel('bravo-hook')].sort());
  const socIds = messages.filter((m) => m.channelId === 'soc').map((m) => m.notificationId);
  expect(new Set(socIds).size).toBe(socIds.length);

  // Recent steps (chains across cycles) are per tenant too.
  const steps = world.storage.table(world.settings.tables.recentSteps);
  const partitions = new Set<string>();
  for await (const entity of steps.listEntities<Record<string, unknown>>()) partitions.add(String(entity.partitionKey).split('|')[0] ?? '');
  expect([...partitions].sort()).toEqual(['alpha', 'bravo']);
});

test("a tenant-scoped allowlist entry suppresses only its tenant's findings; a global entry both tenants'", async () => {
  const allowlist = new AllowlistStore({
    entries: world.storage.table(world.settings.tables.allowlist),
    audit: world.storage.table(world.settings.tables.allowlistAudit),
    clock: world.clock,
  });
  await allowlist.ensureTables();
  await allowlist.createEntry(
    { conditions: { tool: 'powershell', branch: 'PowerShell-CertCmdlet' }, scope: { tenantId: 'alpha' }, reason: 'alpha builds its test certificates this way', owner: 'alpha-secops', expiresAt: new Date(NOW.getTime() + 7 * 86_400_000).toISOString(), permanent: false, enabled: true },
    'test',
  );
  await allowlist.createEntry(
    { conditions: { tool: 'makecert', branch: 'MakeCert-NativeSDK' }, scope: 'global', reason: 'legacy SDK samples everywhere', owner: 'provider-soc', expiresAt: new Date(NOW.getTime() + 7 * 86_400_000).toISOString(), permanent: false, enabled: true },
    'test',
  );

  await world.tick();
  await world.drain(2);

  const counts = async (tenant: string) => (await world.checkpoints.listRuns(tenant, RULE))[0]?.counts;
  const [alpha, bravo] = [await counts('alpha'), await counts('bravo')];
  const entries = await allowlist.listEntries();
  const tenantEntry = entries.find((e) => e.scope !== 'global')!;
  const globalEntry = entries.find((e) => e.scope === 'global')!;
  expect(alpha?.suppressedBy[tenantEntry.id]).toBeGreaterThan(0);
  expect(bravo?.suppressedBy[tenantEntry.id]).toBeUndefined();
  expect(alpha?.suppressedBy[globalEntry.id]).toBeGreaterThan(0);
  expect(bravo?.suppressedBy[globalEntry.id]).toBe(alpha?.suppressedBy[globalEntry.id]);
  expect(bravo!.suppressed).toBeLessThan(alpha!.suppressed);
  // Bravo's incidents still hold what alpha allowlisted for itself.
  const findings = async (tenant: string) => (await incidentsOf(tenant)).reduce((sum, incident) => sum + incident.findings, 0);
  expect(await findings('bravo')).toBe((await findings('alpha')) + alpha!.suppressedBy[tenantEntry.id]!);
});

/**
 * Many tenants at scale, on the local Graph for many tenants (each token's tenant gets its own
 * rows; each tenant throttled on its own like Defender) with the fan-out, the hunt-jobs queue and
 * workers in this process as the queue trigger would run them. Time is virtual: it moves only
 * when every running job waits, so the assertions are about what happens, never about how fast
 * this machine is (bench/tenants.ts measures that).
 */
import sample from '../../../shared/demo/sample-hunting-results.json';
import { HEALTH_ALERT_MARKER } from '../../../shared/app/notifications';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { busyDeviceRows, spreadRows } from '../../../shared/hunting/tenantGraphServer';
import type { HealthMessage } from '../../../shared/notify/message';
import { huntJobFor, slotOf } from '../../../shared/tenants/jobs';
import { configuredQueueConcurrency } from '../../../shared/demo/manyTenants';
import { createTenantWorld, localTenantId, type TenantWorld } from '../../support/tenantHarness';

const NOW = new Date('2026-11-26T12:00:00Z');
const INTERVAL = 10 * 60_000;
const RULE = 't1587-002';
const SAMPLE = normaliseHuntingResults(sample);
/** 50 rows a tenant (one busy workstation), ingested in the hour the first cycle hunts. */
const fiftyRows = (start: number, end: number) => busyDeviceRows(SAMPLE, 50, start, end);
const FIFTY = fiftyRows(NOW.getTime() - 55 * 60_000, NOW.getTime() - 10 * 60_000);

let world: TenantWorld;
afterEach(() => world.close());

test('200 tenants x 1 rule x ~50 rows: every tenant completes its cycle within one interval with the configured queue concurrency', async () => {
  world = await createTenantWorld({ now: NOW });
  const keys = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
  for (const [i, key] of keys.entries()) await world.addTenant({ key, tid: localTenantId(i + 1), rows: FIFTY });

  const fanned = await world.tick();
  expect(fanned.enqueued).toHaveLength(200);
  const drained = await world.drain(configuredQueueConcurrency());

  expect(drained).toEqual({ handled: 200, failed: 0, poisoned: 0 });
  expect(world.results.filter((r) => r.outcome === 'succeeded')).toHaveLength(200);
  expect(world.clock.now().getTime() - NOW.getTime()).toBeLessThan(INTERVAL);
  const statuses = await world.fanOut.services.statuses.readAll();
  for (const key of keys) {
    expect({ key, checkpoint: (await world.checkpoints.read(key, RULE)).checkpoint?.toISOString() }).toEqual({ key, checkpoint: new Date(NOW.getTime() - 5 * 60_000).toISOString() });
    expect(statuses.get(key)?.lastSuccessAt).toBeTruthy();
  }
  // Every tenant's Graph was asked for its own window once, with its own token.
  expect(world.server.calls.size).toBe(200);
  expect([...world.server.calls.values()].every((calls) => calls.length === 1)).toBe(true);
  const rows = world.results.map((r) => r.records[0]?.counts.rows);
  expect(new Set(rows)).toEqual(new Set([FIFTY.results.length]));
  // Real time is not asserted (machines are noisy): bench/tenants.ts measures tenants per minute.
}, 600_000);

test('no tenant goes over 45 calls a minute, even with 4 workers on one tenant whose answers are split many times', async () => {
  world = await createTenantWorld({ now: NOW });
  const heavyTid = localTenantId(1);
  // Four rules, answers cut at 5 rows: every window splits again and again (row limit reached).
  await world.addTenant({
    key: 'heavy',
    tid: heavyTid,
    rows: spreadRows(SAMPLE, NOW.getTime() - 55 * 60_000, NOW.getTime() - 10 * 60_000),
    entry: {
      ruleIds: ['t1587-002', 'trust-store-tampering', 'cert-key-files', 'self-signed-binaries'],
      overrides: { HUNT_ROW_LIMIT: '5', HUNT_MIN_SPLIT_WINDOW_SECONDS: '10', HUNT_CYCLE_BUDGET_SECONDS: '540' },
    },
  });
  for (let i = 2; i <= 9; i++) await world.addTenant({ key: `light-${i}`, tid: localTenantId(i), rows: FIFTY });
  await world.tick();
  // Three more slots' jobs of the heavy tenant are still queued (a backlog): four workers take the
  // heavy tenant's rules at once, one rule per worker under each rule's lease.
  await world.fanOut.jobs.enqueue([1, 2, 3].map((n) => huntJobFor('heavy', slotOf(new Date(NOW.getTime() - n * INTERVAL)), NOW)));

  await world.drain(4);

  const heavyCalls = world.server.calls.get(heavyTid) ?? [];
  expect(heavyCalls.length).toBeGreaterThan(90);
  expect(world.server.peakPerMinute(heavyTid)).toBeLessThanOrEqual(45);
  expect(world.server.rateRefusals.size).toBe(0);
  // More than one job worked for the heavy tenant at the same time (or the test proves nothing).
  const heavyRuns = world.results.filter((r) => r.job.tenant === 'heavy').flatMap((r) => r.records);
  const hunted = heavyRuns.filter((r) => r.outcome !== 'skipped');
  expect(new Set(hunted.map((r) => r.ruleId)).size).toBe(4);
  const overlapping = hunted.some((a) => hunted.some((b) => a !== b && a.startedAt < b.finishedAt && b.startedAt < a.finishedAt));
  expect(overlapping).toBe(true);
  expect(hunted.every((r) => r.outcome === 'succeeded' || r.outcome === 'partial')).toBe(true);
  // The light tenants were not held back by the heavy one's budget.
  for (let i = 2; i <= 9; i++) expect(world.server.calls.get(localTenantId(i))).toHaveLength(1);
}, 300_000);

test("one tenant answering 401 and another 429 for a whole hour: both get health alerts, every other tenant's lag stays under two intervals", async () => {
  const healthy = Array.from({ length: 12 }, (_, i) => `ok-${String(i).padStart(2, '0')}`);
  world = await createTenantWorld({ now: NOW, channelsFor: ['unconsented', 'throttled'] });
  const rows = fiftyRows(NOW.getTime() - 55 * 60_000, NOW.getTime() + 60 * 60_000);
  for (const [i, key] of healthy.entries()) await world.addTenant({ key, tid: localTenantId(i + 10), rows });
  await world.addTenant({ key: 'unconsented', tid: localTenantId(1), rows });
  await world.addTenant({ key: 'throttled', tid: localTenantId(2), rows });
  world.graphTenants.get(localTenantId(1))!.fault = () => ({
    status: 401,
    body: { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience.' } },
  });
  world.graphTenants.get(localTenantId(2))!.fault = () => ({
    status: 429,
    headers: { 'Retry-After': '60' },
    body: { error: { code: 'TooManyRequests', message: 'Rate limit is exceeded. You can run queries again in 00:01:00.' } },
  });

  const maxLag: Record<string, number> = {};
  const jobsPerTenant: Record<string, number> = {};
  for (let tick = 0; tick <= 6; tick++) {
    world.clock.advanceTo(NOW.getTime() + tick * INTERVAL);
    const fanned = await world.tick();
    for (const key of fanned.enqueued) jobsPerTenant[key] = (jobsPerTenant[key] ?? 0) + 1;
    await world.drain(4);
    const now = world.clock.now().getTime();
    for (const key of healthy) {
      const checkpoint = (await world.checkpoints.read(key, RULE)).checkpoint!.getTime();
      maxLag[key] = Math.max(maxLag[key] ?? 0, now - checkpoint);
    }
  }

  // Every healthy tenant was hunted at every tick and never fell two intervals behind.
  expect(Math.max(...Object.values(maxLag))).toBeLessThan(2 * INTERVAL);
  for (const key of healthy) expect(jobsPerTenant[key]).toBe(7);
  // The failing tenants backed off on their own: fewer jobs than ticks.
  expect(jobsPerTenant.unconsented).toBeLessThan(7);
  expect(jobsPerTenant.throttled).toBeLessThan(7);

  // Both got their own health alert, on their own channel, naming the tenant.
  const health = (await world.notificationMessages()).filter((m): m is HealthMessage => m.kind === 'health');
  const alerted = (tenant: string) => health.filter((m) => m.channelId === `${tenant}-hook` && m.payload.code.startsWith('hunt-unhealthy') && m.payload.details.tenantId === tenant);
  expect(alerted('unconsented').length).toBeGreaterThan(0);
  expect(alerted('throttled').length).toBeGreaterThan(0);
  expect(health.filter((m) => healthy.includes(String(m.payload.details.tenantId)))).toEqual([]);
  const logged = world.log.records.filter((r) => r.level === 'error' && r.message.startsWith(HEALTH_ALERT_MARKER)).map((r) => r.properties?.tenantId);
  expect(new Set(logged)).toEqual(new Set(['unconsented', 'throttled']));

  const statuses = await world.fanOut.services.statuses.readAll();
  expect(statuses.get('unconsented')).toMatchObject({ lastProblem: 'token-rejected' });
  expect(statuses.get('throttled')).toMatchObject({ lastProblem: 'throttled' });
}, 300_000);

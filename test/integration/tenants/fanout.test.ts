/**
 * The timer's fan-out and the hunt-jobs queue on Azurite: one job per due tenant and nothing
 * else; a duplicate enqueue is harmless; paused and removed tenants are not hunted; a worker
 * killed mid-job loses nothing (its job reappears after the visibility timeout and resumes from
 * the checkpoint under the lease); an unreadable job is parked; the Functions handlers do the same.
 */
import { InvocationContext } from '@azure/functions';
import { huntHandler } from '../../../functions/hunt';
import { huntTenantHandler } from '../../../functions/huntTenant';
import sample from '../../../shared/demo/sample-hunting-results.json';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { spreadRows } from '../../../shared/hunting/tenantGraphServer';
import type { HuntingSource } from '../../../shared/hunting/types';
import { encodeHuntJob, huntJobFor, parseHuntJob, slotOf } from '../../../shared/tenants/jobs';
import { createTenantHunts } from '../../../shared/app/huntTenant';
import { parseChannels } from '../../../shared/notify/channels';
import { createTenantWorld, localTenantId, type TenantWorld } from '../../support/tenantHarness';

const NOW = new Date('2026-11-26T12:00:00Z');
const RULE = 't1587-002';
const ROWS = spreadRows(normaliseHuntingResults(sample), NOW.getTime() - 55 * 60_000, NOW.getTime() - 10 * 60_000);

let world: TenantWorld;

beforeEach(async () => {
  world = await createTenantWorld({ now: NOW });
});
afterEach(() => world.close());

function context(): InvocationContext {
  return new InvocationContext({ functionName: 'test', invocationId: 'i1', logHandler: () => undefined });
}

test('the timer enqueues one job per due tenant: paused tenants get none, and the timer hunts nothing itself', async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  await world.addTenant({ key: 'bravo', tid: localTenantId(2), rows: ROWS });
  await world.addTenant({ key: 'charlie', tid: localTenantId(3), rows: ROWS });
  await world.fanOut.services.store.pause('charlie', { actor: 'test', now: NOW, reason: 'offboarding' });

  const result = await world.tick();

  expect(result).toMatchObject({ slot: '2026-11-26T12:00:00.000Z', enqueued: ['alpha', 'bravo'], paused: ['charlie'], backingOff: [] });
  expect(world.server.calls.size).toBe(0);
  const peeked = await world.fanOut.jobs.queue.peekMessages({ numberOfMessages: 32 });
  expect(peeked.peekedMessageItems.map((m) => parseHuntJob(m.messageText).jobId).sort()).toEqual([
    'alpha@2026-11-26T12:00:00.000Z',
    'bravo@2026-11-26T12:00:00.000Z',
  ]);
});

test('a duplicate enqueue of a slot is harmless: the copy that comes after the job ran is dropped without a query', async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  await world.tick();
  await world.tick();
  await world.drain(1);
  expect(world.results.map((r) => r.outcome)).toEqual(['succeeded', 'duplicate']);
  expect(world.server.calls.get(localTenantId(1))).toHaveLength(1);
  expect(await world.checkpoints.listRuns('alpha', RULE)).toHaveLength(1);
});

test('two copies running at once meet at the lease: one hunts, the other records a skipped run', async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  const job = huntJobFor('alpha', slotOf(NOW), NOW);
  const [first, second] = await Promise.all([world.clock.participate(() => world.hunts.run(job)), world.clock.participate(() => world.hunts.run(job))]);
  expect([first.outcome, second.outcome].sort()).toEqual(['skipped', 'succeeded']);
  expect(world.server.calls.get(localTenantId(1))).toHaveLength(1);
});

test('a job for a tenant removed or paused after the tick is dropped', async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  await world.addTenant({ key: 'bravo', tid: localTenantId(2), rows: ROWS });
  await world.tick();
  await world.fanOut.services.store.remove('alpha', { actor: 'test', now: NOW });
  await world.fanOut.services.store.pause('bravo', { actor: 'test', now: NOW, reason: 'incident response in progress' });
  await world.drain(2);
  expect(world.results.map((r) => [r.job.tenant, r.outcome]).sort()).toEqual([
    ['alpha', 'not-registered'],
    ['bravo', 'paused'],
  ]);
  expect(world.server.calls.size).toBe(0);
});

test('a worker killed mid-job loses nothing: the job reappears after its visibility timeout and resumes from the checkpoint under the lease', async () => {
  // A first hunt of a day of data: four backfill windows of six hours, one query each. Bravo has
  // the same rows and is hunted without interruption, as the control.
  const dayOfRows = spreadRows(normaliseHuntingResults(sample), NOW.getTime() - 23 * 3_600_000, NOW.getTime() - 10 * 60_000);
  const fullDay = { overrides: { HUNT_INITIAL_LOOKBACK_MINUTES: '1440' } };
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: dayOfRows, entry: fullDay });
  await world.addTenant({ key: 'bravo', tid: localTenantId(2), rows: dayOfRows, entry: fullDay });
  await world.tick();

  // The doomed worker: Graph answers two windows, then the instance "dies" during the third call
  // (the call never returns; the job is neither deleted nor failed, as when an instance stops).
  let calls = 0;
  let dying: () => void = () => undefined;
  const died = new Promise<void>((resolve) => (dying = resolve));
  const doomed = createTenantHunts({
    settings: world.settings,
    env: world.env,
    log: world.log,
    channels: parseChannels(world.settings.delivery.channelsJson),
    queue: world.notifications,
    services: {
      ...world.fanOut.services,
      sourceFor: (tenant): HuntingSource => {
        const real = world.fanOut.services.sourceFor(tenant);
        return {
          runHuntingQuery: (request) => {
            calls += 1;
            if (calls <= 2) return real.runHuntingQuery(request);
            dying();
            return new Promise(() => undefined);
          },
        };
      },
    },
    clock: world.clock,
  });
  let item;
  for (;;) {
    const received = await world.fanOut.jobs.queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 600 });
    item = received.receivedMessageItems[0]!;
    if (parseHuntJob(item.messageText).tenant === 'alpha') break;
    await world.fanOut.jobs.queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
  }
  void doomed.run(parseHuntJob(item.messageText));
  await died;
  const end = NOW.getTime() - 5 * 60_000;
  const halfway = await world.checkpoints.read('alpha', RULE);
  expect(halfway.checkpoint?.toISOString()).toBe(new Date(end - 12 * 3_600_000).toISOString());

  // Until the queue shows the job again nothing happens to alpha (bravo's job runs meanwhile).
  await world.drain(4);
  expect(world.results.map((r) => r.job.tenant)).toEqual(['bravo']);
  // In production the visibility timeout (10 min) is at least the lease: both have run out.
  world.clock.advanceTo(NOW.getTime() + 11 * 60_000);
  await world.fanOut.jobs.queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
  await world.drain(4);

  const resumed = world.results.find((r) => r.job.tenant === 'alpha')!;
  expect(resumed.outcome).toBe('succeeded');
  expect(resumed.records[0]?.checkpointBefore).toBe(halfway.checkpoint?.toISOString());
  expect((await world.checkpoints.read('alpha', RULE)).checkpoint?.toISOString()).toBe(new Date(end + 11 * 60_000).toISOString());
  // The answered windows cover the day without a gap: the killed worker's two, then the resumed ones
  // (from the checkpoint, with the overlap); windows one and two were not asked again.
  const answered = resumed.records[0]!.windows.map((w) => [Date.parse(w.start), Date.parse(w.end)] as const);
  expect(answered[0]![0]).toBeLessThanOrEqual(end - 12 * 3_600_000);
  expect(answered[0]![0]).toBeGreaterThan(end - 13 * 3_600_000);
  for (let i = 1; i < answered.length; i++) expect(answered[i]![0]).toBe(answered[i - 1]![1]);
  // And alpha ends with exactly the incidents bravo got from one uninterrupted hunt.
  const summary = async (tenant: string) => {
    const table = world.storage.table(world.settings.tables.incidents);
    let incidents = 0;
    let findings = 0;
    for await (const e of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${tenant}|${RULE}'` } })) {
      if (e.mergedInto) continue;
      incidents += 1;
      findings += Number(e.findingCount);
    }
    return { incidents, findings };
  };
  const control = await summary('bravo');
  expect(control.incidents).toBeGreaterThan(0);
  expect(await summary('alpha')).toEqual(control);
});

test("a tenant whose own configuration is wrong gets its alert and status; the job is not retried, the others are hunted", async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS, entry: { ruleIds: ['no-such-rule'] } });
  await world.addTenant({ key: 'bravo', tid: localTenantId(2), rows: ROWS, entry: { channelIds: ['no-such-channel'] } });
  await world.addTenant({ key: 'charlie', tid: localTenantId(3), rows: ROWS });
  await world.tick();
  expect(await world.drain(2)).toMatchObject({ handled: 3, failed: 0 });
  expect(world.results.map((r) => [r.job.tenant, r.outcome]).sort()).toEqual([
    ['alpha', 'failed'],
    ['bravo', 'failed'],
    ['charlie', 'succeeded'],
  ]);
  const statuses = await world.fanOut.services.statuses.readAll();
  expect(statuses.get('alpha')).toMatchObject({ lastProblem: 'configuration', lastError: expect.stringMatching(/no-such-rule/) });
  expect(statuses.get('bravo')).toMatchObject({ lastProblem: 'configuration', lastError: expect.stringMatching(/no-such-channel/) });
  const alerts = world.log.records.filter((r) => r.message.startsWith('HUNT_HEALTH_ALERT: Hunting tenant'));
  expect(alerts.map((r) => r.properties?.tenantId).sort()).toEqual(['alpha', 'bravo']);
});

test('an unreadable job goes to the poison queue', async () => {
  await world.fanOut.jobs.ensure();
  await world.fanOut.jobs.queue.sendMessage(Buffer.from('{"v":1,"tenant":"../etc"}').toString('base64'));
  expect(await world.drain(1)).toEqual({ handled: 0, failed: 0, poisoned: 1 });
});

test('the Functions handlers: the timer only fans out, huntTenant hunts one job', async () => {
  await world.addTenant({ key: 'alpha', tid: localTenantId(1), rows: ROWS });
  const records = await huntHandler({ isPastDue: false, schedule: { adjustForDST: false } } as never, context(), {
    runtime: () => Promise.reject(new Error('registry mode must not build the single-tenant runtime')),
    fanOut: (log) => world.fanOut.tick(log, world.clock.now()),
  });
  expect(records).toEqual([]);
  const received = await world.fanOut.jobs.queue.receiveMessages({ numberOfMessages: 1 });
  const result = await huntTenantHandler(received.receivedMessageItems[0]!.messageText, context(), { hunts: async () => world.hunts });
  expect(result).toMatchObject({ outcome: 'succeeded', job: { tenant: 'alpha' } });
  expect(await huntTenantHandler('not a job', context(), { hunts: async () => world.hunts })).toBeNull();
  expect(encodeHuntJob(huntJobFor('alpha', slotOf(NOW), NOW))).toMatch(/^[A-Za-z0-9+/]+=*$/);
});

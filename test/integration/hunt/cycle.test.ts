/**
 * The hunt cycle end to end against real Table/Queue Storage (Azurite) and Graph's HTTP contract
 * (nock): gap-free windows, backfill after an outage, truncation splits, quota waits, crash
 * recovery without duplicate announcements, a lease that lets exactly one of two concurrent
 * cycles work, and health alerts once per bout with a recovery message.
 */
import nock from 'nock';
import { DEMO_NOW, loadDemoSample } from '../../../shared/demo/demo';
import type { HuntingQueryResults } from '../../../shared/hunting/types';
import { createHarness, shiftRows } from '../../support/huntHarness';

const MIN = 60_000;
const HOUR = 60 * MIN;
const sample = loadDemoSample();
/** Rows the normaliser accepts (the sample carries two malformed rows on purpose). */
const GOOD_ROWS = sample.results.length - 2;

afterEach(() => {
  nock.cleanAll();
});

function incidentMessages(messages: Awaited<ReturnType<Awaited<ReturnType<typeof createHarness>>['queuedMessages']>>): number {
  return messages.filter((m) => m.kind === 'incident' || m.kind === 'digest').length;
}

test('first cycle hunts the initial lookback in chunks, finds every good row once and moves the checkpoint', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  const [run] = await h.runtime().runAll();
  expect(run?.outcome).toBe('succeeded');
  expect(run?.windows).toHaveLength(4);
  expect(run?.counts.rows).toBe(sample.results.length);
  expect(run?.counts.findings).toBe(GOOD_ROWS);
  expect(run?.counts.rejectedRows).toBe(2);
  expect(run?.messages.some((m) => m.includes('DeviceName is missing'))).toBe(true);
  expect(run?.checkpointAfter).toBe('2026-11-26T11:55:00.000Z');
  // Graph got the window in the query and a Timespan around it.
  expect(h.calls[0]?.window).toEqual({ start: '2026-11-25T11:55:00.000Z', end: '2026-11-25T17:55:00.000Z' });
  expect(h.calls[0]?.timespan).toBe('2026-11-24T11:55:00.000Z/2026-11-26T17:55:00.000Z');
  const runs = await h.runtime().checkpoints.listRuns(h.settings.tenantId, 't1587-002');
  expect(runs[0]?.runId).toBe(run?.runId);
  expect(incidentMessages(await h.queuedMessages())).toBeGreaterThan(0);
});

test('consecutive cycles cover every minute exactly: each window starts at the previous end minus the overlap', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  await h.runtime().runAll();
  for (let i = 0; i < 3; i++) {
    h.clock.advance(10 * MIN);
    await h.runtime().runAll();
  }
  const windows = h.calls.map((c) => c.window!);
  for (let i = 1; i < windows.length; i++) {
    const previousEnd = Date.parse(windows[i - 1]!.end);
    const start = Date.parse(windows[i]!.start);
    expect(start).toBeLessThanOrEqual(previousEnd);
    expect(previousEnd - start).toBeLessThanOrEqual(2 * MIN);
  }
});

test('a crash after the query and before the checkpoint re-runs the same window without duplicate announcements', async () => {
  // A checkpoint exists from a quiet cycle a day earlier.
  const h = await createHarness({ now: new Date(DEMO_NOW.getTime() - 22 * HOUR), data: { schema: sample.schema, results: [] } });
  await h.runtime().runAll();
  const before = await h.runtime().checkpoints.read(h.settings.tenantId, 't1587-002');
  h.clock.set(DEMO_NOW);
  const harnessData = await createHarness({
    now: DEMO_NOW,
    data: sample,
    env: {
      TENANT_ID: h.settings.tenantId,
      CHECKPOINTS_TABLE: h.settings.tables.checkpoints,
      INCIDENTS_TABLE: h.settings.tables.incidents,
      RECENT_STEPS_TABLE: h.settings.tables.recentSteps,
      NOTIFICATION_QUEUE: h.settings.delivery.queueName,
    },
  });
  const crashing = harnessData.runtime();
  // The process "dies" after processing the first window: neither the checkpoint nor the run record is written.
  crashing.checkpoints.advance = async () => {
    throw new Error('simulated crash');
  };
  crashing.checkpoints.finish = async () => {
    throw new Error('simulated crash');
  };
  await crashing.runAll();
  const announcedBeforeCrash = (await harnessData.queuedMessages()).length;
  expect(announcedBeforeCrash).toBeGreaterThan(0);
  const crashedWindow = harnessData.calls[0]?.window;
  expect(Date.parse(crashedWindow!.start)).toBe(before.checkpoint!.getTime() - 2 * MIN); // the rule's overlap (PT2M)

  // The lease of the dead execution expires; the next cycle hunts the same window again.
  harnessData.clock.advance(h.settings.hunt.leaseMs + MIN);
  const [rerun] = await harnessData.runtime().runAll();
  expect(rerun?.outcome).toBe('succeeded');
  expect(harnessData.calls[1]?.window?.start).toBe(crashedWindow?.start);
  expect(rerun?.checkpointBefore).toBe(before.checkpoint?.toISOString());
  const all = await harnessData.queuedMessages();
  const incidentIds = all.flatMap((m) => (m.kind === 'incident' ? [m.payload.incident.id] : m.kind === 'digest' ? m.payload.items.map((i) => i.incidentId) : []));
  // Whatever the crashed run already enqueued is not enqueued again.
  expect(new Set(all.map((m) => m.notificationId)).size).toBe(all.length);
  expect(incidentIds.length).toBeGreaterThan(0);
});

test('the same window processed twice announces nothing the second time', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  await h.runtime().runAll();
  const first = await h.queuedMessages();
  // A manual re-run over the same data: force the checkpoint back by using a fresh checkpoint table.
  const again = await createHarness({
    now: DEMO_NOW,
    data: sample,
    env: {
      TENANT_ID: h.settings.tenantId,
      INCIDENTS_TABLE: h.settings.tables.incidents,
      RECENT_STEPS_TABLE: h.settings.tables.recentSteps,
      ALLOWLIST_TABLE: h.settings.tables.allowlist,
      ALLOWLIST_AUDIT_TABLE: h.settings.tables.allowlistAudit,
      NOTIFICATION_QUEUE: h.settings.delivery.queueName,
    },
  });
  const [run] = await again.runtime().runAll();
  expect(run?.counts.findings).toBe(GOOD_ROWS);
  expect(run?.counts.incidentsNew).toBe(0);
  expect(run?.counts.notificationsEnqueued).toBe(0);
  expect((await h.queuedMessages()).length).toBe(first.length);
});

test('a three-day outage is backfilled in chunks over several cycles with no gap and no duplicate', async () => {
  // Three days of data: the sample repeated once a day.
  const days: HuntingQueryResults = {
    schema: sample.schema,
    results: [0, 1, 2].flatMap((d) => shiftRows(sample, d * 24 * HOUR).results.map((row) => ({ ...row, ReportId: Number(row.ReportId) + d * 100_000 }))),
  };
  const start = new Date(DEMO_NOW.getTime() - 2 * 24 * HOUR);
  const h = await createHarness({ now: start, data: days, env: { HUNT_INITIAL_LOOKBACK_MINUTES: '60' } });
  const [initial] = await h.runtime().runAll();
  expect(initial?.outcome).toBe('succeeded');

  h.clock.set(DEMO_NOW); // the app was down for two days
  const outcomes: string[] = [];
  let findings = initial?.counts.findings ?? 0;
  for (let cycle = 0; cycle < 5; cycle++) {
    const [run] = await h.runtime().runAll();
    outcomes.push(run!.outcome);
    findings += run!.counts.findings - run!.counts.duplicatesRemoved * 0;
    for (const w of run!.windows) expect(Date.parse(w.end) - Date.parse(w.start)).toBeLessThanOrEqual(6 * HOUR);
    h.clock.advance(10 * MIN);
  }
  expect(outcomes[0]).toBe('partial');
  expect(outcomes).toContain('succeeded');
  const windows = h.calls.map((c) => c.window!).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  for (let i = 1; i < windows.length; i++) expect(Date.parse(windows[i]!.start)).toBeLessThanOrEqual(Date.parse(windows[i - 1]!.end));
  const state = await h.runtime().checkpoints.read(h.settings.tenantId, 't1587-002');
  expect(state.checkpoint!.getTime()).toBeGreaterThan(DEMO_NOW.getTime() - HOUR);
  // The sample's two broken rows raise a rows-rejected alert of their own (rejectedRows.test.ts).
  expect(h.log.records.filter((r) => r.message.includes('HUNT_HEALTH_ALERT') && !r.message.includes('could not be read')).length).toBeLessThanOrEqual(2);
  expect(findings).toBeGreaterThan(0);
});

test('an answer at the row limit is split into smaller windows until every part is complete', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample, env: { HUNT_ROW_LIMIT: '8', HUNT_MIN_SPLIT_WINDOW_SECONDS: '60' } });
  const [run] = await h.runtime().runAll();
  expect(run?.outcome).toBe('succeeded');
  expect(run?.counts.findings).toBe(GOOD_ROWS);
  expect(run?.windows.some((w) => w.split)).toBe(true);
  expect(h.calls.length).toBeGreaterThan(4);
  for (const w of run!.windows) expect(w.rows).toBeLessThan(8);
});

test("Defender's result-size error splits the window instead of failing", async () => {
  const h = await createHarness({
    now: DEMO_NOW,
    data: sample,
    respond: (_call, index) =>
      index === 0
        ? [400, { error: { code: 'BadRequest', message: 'Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again.' } }]
        : undefined,
  });
  const [run] = await h.runtime().runAll();
  expect(run?.outcome).toBe('succeeded');
  expect(run?.counts.findings).toBe(GOOD_ROWS);
  expect(run?.messages.some((m) => m.includes('result size exceeded'))).toBe(true);
});

test('429 with Retry-After is waited out when it fits the cycle, then the query succeeds', async () => {
  const h = await createHarness({
    now: DEMO_NOW,
    data: sample,
    respond: (_call, index) => (index === 0 ? [429, { error: { code: 'TooManyRequests', message: 'Rate limit exceeded' } }, { 'Retry-After': '30' }] : undefined),
  });
  const [run] = await h.runtime().runAll();
  expect(run?.outcome).toBe('succeeded');
  expect(h.clock.sleeps).toContain(30_000);
  expect(run?.counts.findings).toBe(GOOD_ROWS);
});

test('a quota wait longer than the cycle ends the cycle as throttled without moving the checkpoint', async () => {
  const h = await createHarness({
    now: DEMO_NOW,
    data: sample,
    respond: () => [
      429,
      { error: { code: 'TooManyRequests', message: 'You have exceeded processing resources allocated to this tenant. You can run queries again in 00:14:00.' } },
    ],
  });
  const [run] = await h.runtime().runAll();
  expect(run?.outcome).toBe('throttled');
  expect(run?.checkpointAfter).toBeNull();
  expect(h.clock.sleeps).toEqual([]);
});

test('5xx is retried with backoff; authentication failures fail fast with the permission in the message', async () => {
  const flaky = await createHarness({ now: DEMO_NOW, data: sample, respond: (_c, i) => (i < 2 ? [503, { error: { code: 'ServiceUnavailable', message: 'busy' } }] : undefined) });
  const [ok] = await flaky.runtime().runAll();
  expect(ok?.outcome).toBe('succeeded');
  expect(flaky.clock.sleeps.length).toBeGreaterThanOrEqual(2);

  const denied = await createHarness({ now: DEMO_NOW, data: sample, respond: () => [403, { error: { code: 'Forbidden', message: 'Insufficient privileges' } }] });
  const [failed] = await denied.runtime().runAll();
  expect(failed?.outcome).toBe('failed');
  expect(failed?.error).toContain('ThreatHunting.Read.All');
  expect(denied.calls).toHaveLength(1);
});

test('two concurrent cycles: one hunts, the other exits cleanly saying why', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  const [a, b] = await Promise.all([h.runtime().runAll(), h.runtime().runAll()]);
  const outcomes = [a[0]?.outcome, b[0]?.outcome].sort();
  expect(outcomes).toEqual(['skipped', 'succeeded']);
  const skipped = [a[0], b[0]].find((r) => r?.outcome === 'skipped');
  expect(skipped?.error).toMatch(/lease/);
  expect(h.calls).toHaveLength(4);
});

test('failing cycles raise one health alert per bout, and a recovery message when it clears', async () => {
  let failing = true;
  const h = await createHarness({
    now: DEMO_NOW,
    data: sample,
    env: { HEALTH_FAILURE_THRESHOLD: '3' },
    respond: () => (failing ? [401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } }] : undefined),
  });
  for (let i = 0; i < 5; i++) {
    await h.runtime().runAll();
    h.clock.advance(10 * MIN);
  }
  let health = (await h.queuedMessages()).filter((m) => m.kind === 'health');
  expect(health).toHaveLength(1);
  expect(h.log.records.filter((r) => r.message.startsWith('HUNT_HEALTH_ALERT')).length).toBe(1);
  failing = false;
  await h.runtime().runAll();
  // The sample's two broken rows raise a rows-rejected alert of their own (rejectedRows.test.ts).
  health = (await h.queuedMessages()).filter((m) => m.kind === 'health').filter((m) => m.payload.code !== 'hunt-rows-rejected');
  expect(health).toHaveLength(2);
  expect(health.map((m) => (m.kind === 'health' ? m.payload.code : ''))).toEqual(['hunt-unhealthy:failures', 'hunt-recovered']);
});

test('telemetry older than 30 days is reported lost with the exact interval', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  await h.runtime().runAll();
  h.clock.advance(40 * 24 * HOUR);
  const [run] = await h.runtime().runAll();
  expect(run?.lost?.start).toBe('2026-11-26T11:55:00.000Z');
  expect(run?.messages.some((m) => m.includes('never hunted'))).toBe(true);
  const health = (await h.queuedMessages()).filter((m) => m.kind === 'health');
  expect(health.some((m) => m.kind === 'health' && m.payload.code === 'hunt-data-lost')).toBe(true);
});

/**
 * Exactly once across crashes (issue #15 items 1-3), through the real hunt runtime on Azurite:
 * a cycle killed after it enqueued its announcements but before it marked them, followed by a
 * cycle whose window has moved on and that merges new findings into the same incidents, must not
 * announce `incident.created` twice, must re-send the same body under the same webhook-id, and
 * every incident payload carries a revision that only grows.
 */
import nock from 'nock';
import { DEMO_NOW, loadDemoSample } from '../../../shared/demo/demo';
import type { HuntingQueryResults } from '../../../shared/hunting/types';
import type { NotificationMessage } from '../../../shared/notify/message';
import { webhookBody } from '../../../shared/notify/webhook';
import { createHarness, type Harness } from '../../support/huntHarness';

const MIN = 60_000;
const sample = loadDemoSample();
/** One window for the whole initial look-back, so the crash comes after every incident is enqueued. */
const ONE_WINDOW = { HUNT_BACKFILL_CHUNK_MINUTES: '1440' };

afterEach(() => {
  nock.cleanAll();
});

/**
 * The sample plus one more run of the last sample row's command, ingested just before DEMO_NOW:
 * it groups into the same incident as that row (`reportId` names the row).
 */
function sampleWithLateRow(): { data: HuntingQueryResults; reportId: number } {
  const last = sample.results[sample.results.length - 1]!;
  const late = { ...last, ReportId: 9_401, Timestamp: '2026-11-26T11:57:00.000Z', IngestionTime: '2026-11-26T11:58:00.000Z' };
  return { data: { schema: sample.schema, results: [...sample.results, late] }, reportId: Number(last.ReportId) };
}

function holds(reportId: number): (m: Extract<NotificationMessage, { kind: 'incident' }>) => boolean {
  return (m) => m.payload.incident.findings.some((f) => f.reportId === reportId);
}

function incidentMessages(messages: NotificationMessage[]): Array<Extract<NotificationMessage, { kind: 'incident' }>> {
  return messages.filter((m): m is Extract<NotificationMessage, { kind: 'incident' }> => m.kind === 'incident');
}

/** Makes the next cycle of this harness die after enqueueing, before marking anything announced. */
function crashBeforeMarking(h: Harness): ReturnType<Harness['runtime']> {
  const runtime = h.runtime();
  runtime.incidents.markAnnounced = async () => {
    throw new Error('simulated crash after enqueue, before markAnnounced');
  };
  return runtime;
}

function bodiesById(messages: NotificationMessage[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of messages) out.set(m.notificationId, (out.get(m.notificationId) ?? new Set()).add(webhookBody(m)));
  return out;
}

test('a crash between enqueue and mark, then a cycle that merges new findings: incident.created once per incident', async () => {
  const { data, reportId } = sampleWithLateRow();
  const h = await createHarness({ now: DEMO_NOW, data, env: ONE_WINDOW });
  const [crashed] = await crashBeforeMarking(h).runAll();
  expect(crashed?.outcome).toBe('failed');
  const first = incidentMessages(await h.queuedMessages());
  expect(first.length).toBeGreaterThan(0);

  // The next cycle's window has moved on and holds the late row, which merges into an incident
  // that was enqueued as `created` but never marked.
  h.clock.advance(10 * MIN);
  const [rerun] = await h.runtime().runAll();
  expect(rerun?.outcome).toBe('succeeded');
  const all = incidentMessages(await h.queuedMessages());
  // The story that holds the last row: its findings when it was first announced.
  const story = first.find(holds(reportId))!.payload.incident;
  const grown = all.find((m) => holds(reportId)(m) && m.payload.incident.findingCount > story.findingCount);
  const incidentIds = new Set(all.map((m) => m.payload.incident.id));
  for (const id of incidentIds) {
    const created = all.filter((m) => m.payload.incident.id === id && m.payload.event === 'created');
    expect(new Set(created.map((m) => m.notificationId)).size).toBe(1);
  }
  // The merged finding is not lost: it stays pending for the next revision, never a second `created`.
  expect(grown).toBeUndefined();
  const row = await h.runtime().incidents.get(h.settings.tenantId, 't1587-002', story.id);
  expect(row?.findingCount).toBe(story.findingCount + 1);
  expect(row?.announcedFindingCount).toBe(story.findingCount);
});

test('a message re-enqueued after a crash carries the same body under the same webhook-id', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample, env: ONE_WINDOW });
  await crashBeforeMarking(h).runAll();
  h.clock.advance(10 * MIN);
  await h.runtime().runAll();
  const all = await h.queuedMessages();
  const repeated = [...bodiesById(all)].filter(([id]) => all.filter((m) => m.notificationId === id).length > 1);
  expect(repeated.length).toBeGreaterThan(0);
  for (const [, bodies] of repeated) expect(bodies.size).toBe(1);
  for (const [, bodies] of bodiesById(all)) expect(bodies.size).toBe(1);
});

test('every incident payload carries a revision; a later announcement of the same incident has a higher one', async () => {
  const { data, reportId } = sampleWithLateRow();
  const h = await createHarness({ now: DEMO_NOW, data, env: { ...ONE_WINDOW, INCIDENT_UPDATE_INTERVAL_MINUTES: '5' } });
  await h.runtime().runAll();
  h.clock.advance(10 * MIN);
  await h.runtime().runAll();
  const all = incidentMessages(await h.queuedMessages());
  for (const m of all) expect(m.payload.incident.revision).toBeGreaterThanOrEqual(1);
  const story = all.find(holds(reportId))!.payload.incident;
  const ofIncident = all.filter((m) => m.payload.incident.id === story.id);
  // The last row's story as the first cycle told it, then once more with the late row.
  const told = sample.results.filter((r) => story.findings.some((f) => f.reportId === Number(r.ReportId))).length;
  expect(told).toBeGreaterThanOrEqual(1);
  expect(ofIncident.map((m) => [m.payload.event, m.payload.incident.revision, m.payload.incident.findingCount])).toEqual([
    ['created', 1, told],
    ['updated', 2, told + 1],
  ]);
  expect(new Set(ofIncident.map((m) => m.notificationId)).size).toBe(2);
});

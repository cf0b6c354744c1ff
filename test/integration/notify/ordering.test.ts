/**
 * Delivery in revision order (issue #15 item 3): a channel never receives a revision of an incident
 * older than one it already received. A stale message (a retry that lost the race to a newer
 * revision) is not posted; the ledger records it as `superseded`, saying which revision won.
 */
import type { Channel } from '../../../shared/notify/channels';
import { NOTIFICATION_MESSAGE_VERSION, buildDigestPayload, digestNotificationId, type NotificationMessage } from '../../../shared/notify/message';
import { WEBHOOK_SECRET, createBench, revisionMessage, webhookAndTeams } from '../../support/deliveryHarness';
import { startReceiver, type Receiver } from '../../support/receiver';

let hook: Receiver;
let teams: Receiver;

beforeEach(async () => {
  hook = await startReceiver({ fallback: { status: 200 }, verifyWith: WEBHOOK_SECRET });
  teams = await startReceiver({ fallback: { status: 202 } });
});

afterEach(async () => {
  await Promise.all([hook.close(), teams.close()]);
});

const channels = (): Channel[] => webhookAndTeams(hook.url, teams.url);

function revisionOf(channelId: string, revision: number, incidentId = 'inc_ordering'): NotificationMessage {
  return revisionMessage(channelId, incidentId, revision);
}

function postedRevisions(receiver: Receiver): number[] {
  return receiver.requests.map((r) => (JSON.parse(r.body) as { data: { revision: number } }).data.revision);
}

test('an older revision arriving after a newer one was delivered is skipped and recorded as superseded', async () => {
  const bench = await createBench(channels());
  expect(await bench.deliver(revisionOf('soar', 1))).toMatchObject({ status: 'delivered' });
  expect(await bench.deliver(revisionOf('soar', 3))).toMatchObject({ status: 'delivered' });
  // Revision 2 was waiting for a retry meanwhile.
  const stale = revisionOf('soar', 2);
  expect(await bench.deliver({ ...stale, attempt: 2 })).toMatchObject({ status: 'superseded', deliveredRevision: 3 });
  expect(postedRevisions(hook)).toEqual([1, 3]);
  const record = await bench.ledger.get('soar', stale.notificationId);
  expect(record).toMatchObject({ state: 'superseded', reason: 'stale-revision-2-after-3' });
  // Settled: the same stale message again is acknowledged without a post, and replaying it cannot reorder either.
  expect(await bench.deliver(stale)).toMatchObject({ status: 'settled', state: 'superseded' });
  expect(postedRevisions(hook)).toEqual([1, 3]);
});

test('the order is per channel and per incident', async () => {
  const bench = await createBench(channels());
  await bench.deliver(revisionOf('soar', 3));
  // Another channel has not seen revision 3, and another incident has its own revisions.
  expect(await bench.deliver(revisionOf('soc-teams', 2))).toMatchObject({ status: 'delivered' });
  expect(await bench.deliver(revisionOf('soar', 2, 'inc_other'))).toMatchObject({ status: 'delivered' });
  expect(postedRevisions(hook)).toEqual([3, 2]);
  expect(teams.requests).toHaveLength(1);
});

test('a revision that failed and is retried still goes out when nothing newer was delivered', async () => {
  hook.script({ status: 503 });
  const bench = await createBench(channels());
  expect(await bench.deliver(revisionOf('soar', 2))).toMatchObject({ status: 'requeued' });
  const [retry] = bench.queue.take();
  expect(await bench.deliver(retry!.message)).toMatchObject({ status: 'delivered' });
  expect(await bench.deliver(revisionOf('soar', 1))).toMatchObject({ status: 'superseded', deliveredRevision: 2 });
  expect(postedRevisions(hook)).toEqual([2, 2]);
});

test('while one revision of an incident is being posted, another waits instead of racing it', async () => {
  hook.script({ hang: true });
  const bench = await createBench(channels(), { timeoutMs: 2_000 });
  const slow = bench.deliver(revisionOf('soar', 2));
  // Wait until the receiver holds the first post, then try the next revision meanwhile.
  while (hook.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
  const waiting = await bench.deliver(revisionOf('soar', 3));
  expect(waiting).toMatchObject({ status: 'requeued', reason: 'in-flight' });
  await hook.close();
  await slow;
});

test('a digest counts as delivering each incident at the revision it shows', async () => {
  const bench = await createBench(channels());
  const items = [revisionOf('soc-teams', 3, 'inc_a'), revisionOf('soc-teams', 1, 'inc_b')].map((m) => {
    if (m.kind !== 'incident') throw new Error('incident expected');
    return { event: m.payload.event, incident: m.payload.incident };
  });
  const digest: NotificationMessage = {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'digest',
    channelId: 'soc-teams',
    notificationId: digestNotificationId(items.map((i) => ({ incidentId: i.incident.id, event: i.event, revision: i.incident.revision }))),
    attempt: 1,
    createdAt: '2024-05-01T12:03:00.000Z',
    payload: buildDigestPayload(items),
  };
  expect(await bench.deliver(digest)).toMatchObject({ status: 'delivered' });
  expect(await bench.deliver(revisionOf('soc-teams', 2, 'inc_a'))).toMatchObject({ status: 'superseded', deliveredRevision: 3 });
  expect(await bench.deliver(revisionOf('soc-teams', 2, 'inc_b'))).toMatchObject({ status: 'delivered' });
  expect(teams.requests).toHaveLength(2);
});

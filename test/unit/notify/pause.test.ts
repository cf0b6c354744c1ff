/** What waited for a paused channel, planned for release (pure): latest revisions, digests, same ids. */
import { NOTIFICATION_MESSAGE_VERSION, type HealthPayload, type NotificationMessage } from '../../../shared/notify/message';
import { planRelease } from '../../../shared/notify/pause';
import { revisionMessage } from '../../support/deliveryHarness';

function revision(channelId: string, incidentId: string, rev: number): NotificationMessage {
  return { ...revisionMessage(channelId, incidentId, rev, `2024-05-01T1${rev}:00:00.000Z`), attempt: 3 };
}

const health: HealthPayload = {
  key: 'k',
  code: 'hunt-unhealthy:failures',
  level: 'error',
  summary: 's',
  channelId: null,
  notificationId: null,
  at: '2024-05-01T12:30:00.000Z',
  details: {},
};
const alert: NotificationMessage = {
  version: NOTIFICATION_MESSAGE_VERSION,
  kind: 'health',
  channelId: 'x',
  notificationId: 'ntf_0123456789abcdef0123456789abcdef',
  attempt: 2,
  createdAt: health.at,
  payload: health,
};

test('webhook: each incident at its latest revision, as it was (same id and body); older revisions superseded', () => {
  const held = [revision('soar', 'a', 1), revision('soar', 'a', 2), revision('soar', 'b', 1), { ...alert, channelId: 'soar' }];
  const plan = planRelease(held, { id: 'soar', type: 'webhook' });
  // Oldest first, so the probe is the notification that waited longest.
  expect(plan.messages.map((m) => m.notificationId)).toEqual([held[2]!.notificationId, held[1]!.notificationId, alert.notificationId]);
  expect(plan.messages.every((m) => m.attempt === 1)).toBe(true);
  expect(plan.messages[1]).toEqual({ ...held[1], attempt: 1 });
  expect(plan.rows).toEqual(
    expect.arrayContaining([
      { notificationId: held[0]!.notificationId, state: 'superseded', reason: 'superseded-while-held-by-revision-2' },
      { notificationId: held[1]!.notificationId, state: 'retrying', reason: 'released' },
      { notificationId: held[2]!.notificationId, state: 'retrying', reason: 'released' },
      { notificationId: alert.notificationId, state: 'retrying', reason: 'released' },
    ]),
  );
});

test('Teams: one digest of every incident at its latest revision, whatever order they waited in; the same held rows make the same digest', () => {
  const held = [revision('t', 'b', 1), revision('t', 'a', 2), revision('t', 'a', 1), { ...alert, channelId: 't' }];
  const plan = planRelease(held, { id: 't', type: 'teams' });
  const [digest, rest] = [plan.messages[0]!, plan.messages.slice(1)];
  expect(digest.kind).toBe('digest');
  if (digest.kind !== 'digest') throw new Error('digest expected');
  expect(digest.payload.items.map((i) => [i.incidentId, i.revision]).sort()).toEqual([
    ['a', 2],
    ['b', 1],
  ]);
  expect(digest.createdAt).toBe('2024-05-01T12:00:00.000Z');
  expect(rest.map((m) => m.kind)).toEqual(['health']);
  expect(plan.rows.filter((r) => r.state === 'superseded').map((r) => r.reason)).toEqual(['released-in-digest', 'released-in-digest', 'released-in-digest']);
  expect(planRelease([...held].reverse(), { id: 't', type: 'teams' }).messages[0]).toEqual(digest);
  // A probe digest that failed and waits itself is merged, not doubled: the same digest again.
  const again = planRelease([...held, digest], { id: 't', type: 'teams' });
  expect(again.messages[0]).toEqual(digest);
  expect(again.rows.find((r) => r.notificationId === digest.notificationId)?.state).toBe('retrying');
});

test('Teams: a single waiting incident is sent as it was; more than 50 make several digests, none omitted', () => {
  const one = revision('t', 'solo', 1);
  expect(planRelease([one], { id: 't', type: 'teams' }).messages).toEqual([{ ...one, attempt: 1 }]);
  const many = Array.from({ length: 120 }, (_, i) => revision('t', `i${String(i).padStart(3, '0')}`, 1));
  const digests = planRelease(many, { id: 't', type: 'teams' }).messages;
  expect(digests.map((d) => (d.kind === 'digest' ? [d.payload.items.length, d.payload.omitted] : null))).toEqual([
    [50, 0],
    [50, 0],
    [20, 0],
  ]);
});

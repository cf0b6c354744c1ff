/**
 * A receiver down for most of a day loses nothing (issue #15 item 16). Simulated with a fake clock
 * over the real ledger (Azurite) and real HTTP receivers: the queue's visibility delays become due
 * times, the hunt timer's channel check runs every 10 minutes, and both receivers answer 503 for
 * 20 hours. Afterwards every incident's latest revision has reached the webhook, every incident
 * reached Teams (in a card or a digest), nothing is in the poison queue, a channel that kept
 * failing was paused instead of spending attempts per message, and Teams got what waited as a
 * digest rather than a flood of cards.
 */
import { parseChannels, type Channel } from '../../../shared/notify/channels';
import type { NotificationMessage } from '../../../shared/notify/message';
import { probeDueChannels } from '../../../shared/notify/probe';
import { defaultRetryPolicy } from '../../../shared/notify/retry';
import { WEBHOOK_SECRET, createBench, revisionMessage, webhookAndTeams, type Bench } from '../../support/deliveryHarness';
import { startReceiver, type Receiver } from '../../support/receiver';

const MIN = 60_000;
const HOUR = 60 * MIN;

let hook: Receiver;
let teams: Receiver;

beforeEach(async () => {
  hook = await startReceiver({ fallback: { status: 503 } });
  teams = await startReceiver({ fallback: { status: 503 } });
});

afterEach(async () => {
  await Promise.all([hook.close(), teams.close()]);
});

const channels = (): Channel[] => webhookAndTeams(hook.url, teams.url);

function announcement(channelId: string, incidentId: string, revision: number, at: number): NotificationMessage {
  const message = revisionMessage(channelId, incidentId, revision, new Date(at).toISOString());
  if (message.kind !== 'incident') throw new Error('incident expected');
  return { ...message, payload: { ...message.payload, incident: { ...message.payload.incident, severity: 'high' } } };
}

interface Due {
  message: NotificationMessage;
  at: number;
}

/**
 * Runs the deliverer like the queue and the timer would: the earliest visible message is handled
 * next, a re-enqueue becomes visible after its delay, and every 10 minutes the timer checks paused
 * channels. Returns how many messages were handled.
 */
async function runUntilQuiet(bench: Bench, initial: Due[], until: number, onTime: (now: number) => void): Promise<number> {
  const due = [...initial];
  let timer = bench.clock.now().getTime();
  let handled = 0;
  const policy = { retry: defaultRetryPolicy() };
  while (bench.clock.now().getTime() < until) {
    due.sort((a, b) => a.at - b.at);
    const next = due[0];
    if (!next || timer <= next.at) {
      bench.clock.set(new Date(timer));
      onTime(timer);
      await probeDueChannels({ ...bench.deps, ...policy });
      timer += 10 * MIN;
    } else {
      due.shift();
      bench.clock.set(new Date(Math.max(next.at, bench.clock.now().getTime())));
      onTime(bench.clock.now().getTime());
      await bench.deliver(next.message, policy);
      handled++;
    }
    for (const { message, delaySeconds } of bench.queue.take()) due.push({ message, at: bench.clock.now().getTime() + delaySeconds * 1000 });
  }
  return handled;
}

test('a 20-hour outage of a webhook and a Teams receiver loses 0 notifications', async () => {
  const bench = await createBench(channels());
  const start = bench.clock.now().getTime();
  // 24 incidents announced over the first four hours of the outage (a cycle every 10 minutes), and
  // a second revision of every fourth one two hours later.
  const initial: Due[] = [];
  for (let i = 0; i < 24; i++) {
    const at = start + i * 10 * MIN;
    for (const channelId of ['soar', 'soc-teams']) initial.push({ message: announcement(channelId, `inc_${i}`, 1, at), at });
    if (i % 4 === 0) for (const channelId of ['soar', 'soc-teams']) initial.push({ message: announcement(channelId, `inc_${i}`, 2, at + 2 * HOUR), at: at + 2 * HOUR });
  }
  let postsDuringOutage = 0;
  let recovered = false;
  await runUntilQuiet(bench, initial, start + 30 * HOUR, (now) => {
    if (!recovered && now >= start + 20 * HOUR) {
      recovered = true;
      postsDuringOutage = hook.requests.length + teams.requests.length;
      hook.setFallback({ status: 200 });
      teams.setFallback({ status: 202 });
    }
  });

  // Nothing given up.
  expect(bench.queue.poisoned).toEqual([]);
  expect(await bench.ledger.list({ state: 'failed' })).toEqual([]);
  expect(await bench.ledger.list({ state: 'held' })).toEqual([]);

  // The webhook got the latest revision of every incident, in order.
  const accepted = (r: Receiver) => r.requests.filter((q) => q.status !== null && q.status < 300);
  const hookRevisions = new Map<string, number[]>();
  for (const request of accepted(hook)) {
    const body = JSON.parse(request.body) as { data: { id: string; revision: number } };
    hookRevisions.set(body.data.id, [...(hookRevisions.get(body.data.id) ?? []), body.data.revision]);
  }
  for (let i = 0; i < 24; i++) {
    const revisions = hookRevisions.get(`inc_${i}`) ?? [];
    expect(revisions[revisions.length - 1]).toBe(i % 4 === 0 ? 2 : 1);
    expect([...revisions].sort()).toEqual(revisions);
  }

  // Teams got every incident, as a digest rather than a flood of cards.
  const teamsDelivered = await bench.ledger.list({ state: 'delivered', channelId: 'soc-teams' });
  const shown = new Set(
    teamsDelivered.flatMap((r) =>
      r.message?.kind === 'digest' ? r.message.payload.items.map((item) => item.incidentId) : r.message?.kind === 'incident' ? [r.message.payload.incident.id] : [],
    ),
  );
  expect(shown.size).toBe(24);
  expect(teamsDelivered.some((r) => r.kind === 'digest')).toBe(true);
  // One digest card for the 24 incidents that waited (measured: 1 post accepted).
  expect(accepted(teams)).toHaveLength(1);

  // A paused channel is probed on a schedule, not hammered once per message and attempt.
  // 60 messages x 8 attempts would be 480 posts; a paused channel costs one probe per step of the
  // schedule (measured: 14 posts over 20 hours for both channels together).
  expect(postsDuringOutage).toBeLessThanOrEqual(2 * defaultRetryPolicy().maxAttempts + 4);
});

test('a channel that fails for the whole schedule: what waited goes to the poison queue with one alert, after more than a day', async () => {
  const ops = await startReceiver({ fallback: { status: 200 } });
  try {
    const withOps = parseChannels(
      JSON.stringify([
        { id: 'soar', type: 'webhook', url: hook.url, minSeverity: 'low', secret: WEBHOOK_SECRET },
        { id: 'ops', type: 'webhook', url: ops.url, minSeverity: 'low', secret: WEBHOOK_SECRET, kinds: ['health'] },
      ]),
      { allowLoopbackForTests: true },
    );
    const bench = await createBench(withOps);
    const start = bench.clock.now().getTime();
    const initial: Due[] = Array.from({ length: 5 }, (_, i) => ({ message: announcement('soar', `inc_${i}`, 1, start + i * MIN), at: start + i * MIN }));
    let gaveUpAt = 0;
    await runUntilQuiet(bench, initial, start + 40 * HOUR, (now) => {
      if (!gaveUpAt && bench.queue.poisoned.length > 0) gaveUpAt = now;
    });
    expect(bench.queue.poisoned.map((p) => p.message.notificationId).sort()).toEqual(initial.map((d) => d.message.notificationId).sort());
    expect(new Set(bench.queue.poisoned.map((p) => p.reason.code))).toEqual(new Set(['channel-unreachable-http-503']));
    expect(gaveUpAt - start).toBeGreaterThanOrEqual(24 * HOUR);
    expect(await bench.ledger.list({ state: 'held' })).toEqual([]);
    expect((await bench.ledger.list({ state: 'failed', channelId: 'soar' })).length).toBe(5);
    const alerts = ops.requests.map((r) => (JSON.parse(r.body) as { data: { code: string } }).data.code);
    expect(alerts.filter((c) => c === 'channel-paused')).toHaveLength(1);
    expect(alerts.filter((c) => c === 'channel-unreachable')).toHaveLength(1);
    expect(alerts.filter((c) => c === 'delivery-failed').length).toBeLessThanOrEqual(1);
  } finally {
    await ops.close();
  }
});

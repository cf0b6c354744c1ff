import nock from 'nock';
import { parseChannels, type Channel } from '../../../shared/notify/channels';
import type { DeliveryLedger } from '../../../shared/notify/ledger';
import type { NotificationMessage } from '../../../shared/notify/message';
import { createHttpSender } from '../../../shared/notify/send';
import type { TeamsWorkflowPayload } from '../../../shared/notify/teamsCard';
import { adaptiveCardProblems } from '../../support/adaptiveCards';
import { OPS_SECRET, WEBHOOK_SECRET, createBench, incidentMessage, type Bench } from '../../support/deliveryHarness';
import { incident } from '../../support/notifyFixtures';
import { startReceiver, type Receiver } from '../../support/receiver';

let teams: Receiver;
let hook: Receiver;
let ops: Receiver;

beforeEach(async () => {
  teams = await startReceiver({ fallback: { status: 202 } });
  hook = await startReceiver({ fallback: { status: 200 }, verifyWith: WEBHOOK_SECRET });
  ops = await startReceiver({ fallback: { status: 200 }, verifyWith: OPS_SECRET });
});

afterEach(async () => {
  await Promise.all([teams.close(), hook.close(), ops.close()]);
  nock.cleanAll();
  nock.enableNetConnect();
});

function channels(overrides: { teamsUrl?: string } = {}): Channel[] {
  return parseChannels(
    JSON.stringify([
      { id: 'soc-teams', type: 'teams', url: overrides.teamsUrl ?? teams.url, minSeverity: 'low' },
      { id: 'soar', type: 'webhook', url: hook.url, minSeverity: 'low', secret: WEBHOOK_SECRET },
      { id: 'ops', type: 'webhook', url: ops.url, minSeverity: 'high', secret: OPS_SECRET, kinds: ['health'] },
    ]),
    { allowLoopbackForTests: true },
  );
}

const teamsMessage = () => incidentMessage('soc-teams');
const hookMessage = () => incidentMessage('soar');

/** Health alerts the deliverer enqueued, as (channel, code). */
function healthAlerts(bench: Bench): Array<[string, string]> {
  return bench.queue.take('health').map(({ message }) => [message.channelId, message.kind === 'health' ? message.payload.code : '']);
}

describe('deliverMessage', () => {
  test('Teams 202: one post of a valid Workflows card, recorded as delivered', async () => {
    const bench = await createBench(channels());
    const outcome = await bench.deliver(teamsMessage());
    expect(outcome).toMatchObject({ status: 'delivered', httpStatus: 202, channelId: 'soc-teams' });
    expect(teams.requests).toHaveLength(1);
    const posted = JSON.parse(teams.requests[0]!.body) as TeamsWorkflowPayload;
    expect(teams.requests[0]!.headers['content-type']).toBe('application/json');
    expect(adaptiveCardProblems(posted.attachments[0].content)).toEqual([]);
    expect((await bench.ledger.get('soc-teams', teamsMessage().notificationId))?.state).toBe('delivered');
  });

  test('the same queue message handled twice is posted once', async () => {
    const bench = await createBench(channels());
    expect((await bench.deliver(teamsMessage())).status).toBe('delivered');
    expect((await bench.deliver(teamsMessage())).status).toBe('duplicate');
    expect((await bench.deliver({ ...teamsMessage(), attempt: 3 })).status).toBe('duplicate');
    expect(teams.requests).toHaveLength(1);
  });

  test('webhook: Standard Webhooks headers verified by the receiver, webhook-id = notificationId', async () => {
    const bench = await createBench(channels());
    expect(await bench.deliver(hookMessage())).toMatchObject({ status: 'delivered', httpStatus: 200 });
    const [request] = hook.requests;
    expect(request?.verified).toEqual({ ok: true, payload: expect.objectContaining({ type: 'incident.created', data: expect.objectContaining({ id: incident().id }) }) });
    expect(request?.headers['webhook-id']).toBe(hookMessage().notificationId);
  });

  test.each([400, 401, 413])('Teams %i: permanent failure → ledger failed, poison queue, health alert, no retry', async (status) => {
    teams.script({ status });
    const bench = await createBench(channels());
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'failed', code: `http-${status}`, httpStatus: status });
    expect(bench.queue.poisoned).toEqual([{ message: teamsMessage(), reason: { code: `http-${status}`, status } }]);
    expect(healthAlerts(bench)).toEqual([['ops', 'delivery-failed']]);
    expect(bench.queue.enqueued).toEqual([]);
    expect(await bench.ledger.get('soc-teams', teamsMessage().notificationId)).toMatchObject({ state: 'failed', reason: `http-${status}`, httpStatus: status });
    // A redelivery of the same message is acknowledged without posting.
    expect((await bench.deliver(teamsMessage())).status).toBe('settled');
    expect(teams.requests).toHaveLength(1);
  });

  test('429 with Retry-After: re-enqueued with attempt 2 after at least Retry-After, then delivered', async () => {
    teams.script({ status: 429, headers: { 'retry-after': '120' } });
    const bench = await createBench(channels());
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'requeued', reason: 'retryable', delaySeconds: 120, code: 'http-429' });
    const [retry] = bench.queue.take();
    expect(retry).toEqual({ message: { ...teamsMessage(), attempt: 2 }, delaySeconds: 120 });
    expect(await bench.ledger.get('soc-teams', teamsMessage().notificationId)).toMatchObject({ state: 'retrying', attempt: 2, reason: 'http-429' });
    bench.clock.advance(120_000);
    expect(await bench.deliver(retry!.message)).toMatchObject({ status: 'delivered', attempt: 2 });
    expect(teams.requests).toHaveLength(2); // the 429 was refused, so one card is in the channel
  });

  test('500 until attempts run out → poison queue + health alert', async () => {
    teams.script({ status: 500 }, { status: 502 }, { status: 503 }, { status: 500 });
    const bench = await createBench(channels(), { maxAttempts: 4 });
    let message: NotificationMessage = teamsMessage();
    const delays: number[] = [];
    for (let attempt = 1; attempt < 4; attempt++) {
      const outcome = await bench.deliver(message);
      expect(outcome).toMatchObject({ status: 'requeued', attempt });
      const [next] = bench.queue.take();
      delays.push(next!.delaySeconds);
      message = next!.message;
      bench.clock.advance(next!.delaySeconds * 1000);
    }
    expect(delays).toEqual([5, 300, 1800]); // the standard schedule; at random() = 0.5 the jitter is 0
    expect(await bench.deliver(message)).toMatchObject({ status: 'failed', code: 'attempts-exhausted-http-500', attempt: 4 });
    expect(bench.queue.poisoned.map((p) => [p.message.attempt, p.reason.code])).toEqual([[4, 'attempts-exhausted-http-500']]);
    expect(healthAlerts(bench)).toEqual([['ops', 'delivery-failed']]);
    expect(teams.requests).toHaveLength(4);
  });

  test('receiver down (connection refused): retryable, known not delivered, so Teams is retried', async () => {
    const down = await startReceiver();
    const url = down.url;
    await down.close();
    const bench = await createBench(channels({ teamsUrl: url }));
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'requeued', code: 'network-ECONNREFUSED' });
  });

  test('Teams timeout: maybe posted → parked as uncertain + health alert, never reposted', async () => {
    teams.script({ hang: true });
    const bench = await createBench(channels(), { timeoutMs: 100 });
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'parked', reason: 'uncertain' });
    expect(healthAlerts(bench)).toEqual([['ops', 'delivery-uncertain']]);
    expect(bench.queue.enqueued).toEqual([]);
    expect(await bench.ledger.get('soc-teams', teamsMessage().notificationId)).toMatchObject({ state: 'parked', reason: 'uncertain-timeout', message: teamsMessage() });
    expect((await bench.deliver(teamsMessage())).status).toBe('settled');
    expect(teams.requests).toHaveLength(1);
  });

  test('webhook timeout: retried with the same webhook-id (at worst the receiver sees it twice)', async () => {
    hook.script({ hang: true });
    const bench = await createBench(channels(), { timeoutMs: 100 });
    expect(await bench.deliver(hookMessage())).toMatchObject({ status: 'requeued', code: 'timeout' });
    const [retry] = bench.queue.take();
    bench.clock.advance(retry!.delaySeconds * 1000);
    expect((await bench.deliver(retry!.message)).status).toBe('delivered');
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([hookMessage().notificationId, hookMessage().notificationId]);
    expect(hook.requests.every((r) => r.verified?.ok)).toBe(true);
  });

  test('410 Gone: channel disabled, health alert to the other channels, later messages not posted until the url changes', async () => {
    teams.script({ status: 410 });
    const bench = await createBench(channels());
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'channel-disabled', newlyDisabled: true });
    expect(healthAlerts(bench)).toEqual([['ops', 'channel-gone']]);
    const second = incidentMessage('soc-teams', incident({ id: 'inc-2' }));
    expect(await bench.deliver(second)).toMatchObject({ status: 'channel-disabled', newlyDisabled: false });
    expect(teams.requests).toHaveLength(1);
    expect((await bench.ledger.list({ state: 'disabled-channel' })).map((r) => r.notificationId).sort()).toEqual([teamsMessage().notificationId, second.notificationId].sort());

    // A new workflow url in the settings re-enables the channel; the held message is replayable.
    const fresh = await startReceiver();
    try {
      const third = incidentMessage('soc-teams', incident({ id: 'inc-3' }));
      expect((await bench.deliver(third, { channels: channels({ teamsUrl: fresh.url }) })).status).toBe('delivered');
      expect(fresh.requests).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  test('crash between the Teams post and the ledger write: no second post, parked + health alert, nothing lost', async () => {
    let failNextDelivered = true;
    const bench = await createBench(channels(), {
      ledger: (real) =>
        new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'markDelivered') {
              return async (...args: Parameters<DeliveryLedger['markDelivered']>) => {
                if (failNextDelivered) {
                  failNextDelivered = false;
                  throw new Error('table storage unavailable');
                }
                return target.markDelivered(...args);
              };
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        }),
    });
    const m = teamsMessage();
    await expect(bench.deliver(m)).rejects.toThrow('table storage unavailable');
    expect(teams.requests).toHaveLength(1);

    // The host hands the message over again at once: the claim is still leased → checked later.
    const early = await bench.deliver(m);
    expect(early).toMatchObject({ status: 'requeued', reason: 'in-flight' });
    const [recheck] = bench.queue.take();
    expect(recheck!.delaySeconds).toBeGreaterThanOrEqual(60);

    // After the lease: unknown whether Teams shows it. Not reposted; parked and alerted.
    bench.clock.advance(recheck!.delaySeconds * 1000);
    expect(await bench.deliver(recheck!.message)).toMatchObject({ status: 'parked', reason: 'uncertain' });
    expect(healthAlerts(bench)).toEqual([['ops', 'delivery-uncertain']]);
    expect(teams.requests).toHaveLength(1);
    const parked = await bench.ledger.list({ state: 'parked' });
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ channelId: 'soc-teams', reason: 'uncertain', message: m });
    // Any further redelivery is acknowledged without posting.
    expect((await bench.deliver(m)).status).toBe('settled');
    expect(teams.requests).toHaveLength(1);
  });

  test.each([
    // Dies before the revision is recorded: the post is repeated under the same webhook-id.
    ['endRevision', 2, 'delivered'],
    // Dies after the revision was recorded: the redelivery finds it posted and does not post again.
    ['markDelivered', 1, 'duplicate'],
  ] as const)('crash between the webhook post and %s: %i post(s) with the same webhook-id', async (method, posts, status) => {
    let fail = true;
    const bench = await createBench(channels(), {
      ledger: (real) =>
        Object.assign(Object.create(real) as DeliveryLedger, {
          [method]: async (...args: unknown[]) => {
            if (fail) {
              fail = false;
              throw new Error('crash');
            }
            return (real[method] as (...a: unknown[]) => Promise<unknown>).apply(real, args);
          },
        }),
    });
    await expect(bench.deliver(hookMessage())).rejects.toThrow('crash');
    bench.clock.advance(61_000);
    expect((await bench.deliver(hookMessage())).status).toBe(status);
    expect(healthAlerts(bench)).toEqual([]);
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual(Array(posts).fill(hookMessage().notificationId));
    expect(hook.requests.every((r) => r.verified?.ok)).toBe(true);
    expect((await bench.ledger.get('soar', hookMessage().notificationId))?.state).toBe('delivered');
  });

  test('a channel removed from the settings: parked as unknown-channel + health alert', async () => {
    const bench = await createBench(channels());
    expect(await bench.deliver(incidentMessage('gone-channel'))).toMatchObject({ status: 'parked', reason: 'unknown-channel' });
    expect(healthAlerts(bench)).toEqual([['ops', 'delivery-unknown-channel']]);
  });

  test('a failing health alert does not raise another health alert', async () => {
    ops.script({ status: 400 });
    const bench = await createBench(channels());
    teams.script({ status: 400 });
    await bench.deliver(teamsMessage());
    const [alert] = bench.queue.take('health');
    expect(await bench.deliver(alert!.message)).toMatchObject({ status: 'failed', code: 'http-400', kind: 'health' });
    expect(bench.queue.take('health')).toEqual([]);
    expect(ops.requests[0]?.verified).toMatchObject({ ok: true, payload: { type: 'health.alert', data: { code: 'delivery-failed', channelId: 'soc-teams' } } });
  });

  test('nock: an https Teams Workflows url (public address) answered 500 then 202', async () => {
    const url = 'https://prod-00.westeurope.logic.azure.com:443/workflows/0a1b/triggers/manual/paths/invoke?api-version=2016-06-01&sig=NockSecretSig';
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    const scope = nock('https://prod-00.westeurope.logic.azure.com:443')
      .post('/workflows/0a1b/triggers/manual/paths/invoke')
      .query(true)
      .reply(500)
      .post('/workflows/0a1b/triggers/manual/paths/invoke')
      .query(true)
      .reply(202);
    const send = createHttpSender({ clock: { now: () => new Date(), sleep: async () => undefined }, lookup: async () => [{ address: '52.1.2.3', family: 4 }] });
    const bench = await createBench(parseChannels(JSON.stringify([{ id: 'soc-teams', type: 'teams', url, minSeverity: 'low' }])), { send });
    expect(await bench.deliver(teamsMessage())).toMatchObject({ status: 'requeued', code: 'http-500' });
    const [retry] = bench.queue.take();
    expect(await bench.deliver(retry!.message)).toMatchObject({ status: 'delivered', httpStatus: 202 });
    expect(scope.isDone()).toBe(true);
    expect(bench.log.text()).not.toContain('NockSecretSig');
  });
});

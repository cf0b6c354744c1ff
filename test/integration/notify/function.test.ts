import { InvocationContext } from '@azure/functions';
import { deliverHandler, handleDeliveryQueueEntry } from '../../../functions/deliver';
import { parseChannels } from '../../../shared/notify/channels';
import { encodeQueueMessage } from '../../../shared/notify/message';
import { TableDeliveryLedger } from '../../../shared/notify/ledger';
import { NotificationQueue } from '../../../shared/notify/queue';
import { defaultRetryPolicy } from '../../../shared/notify/retry';
import { createHttpSender, type FetchLike } from '../../../shared/notify/send';
import { ConfigError } from '../../../shared/config/settings';
import { readDeliverySettings } from '../../../shared/notify/settings';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { WEBHOOK_SECRET, incidentMessage } from '../../support/deliveryHarness';
import { TestClock, incident } from '../../support/notifyFixtures';
import { startReceiver, type Receiver } from '../../support/receiver';

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver({ verifyWith: WEBHOOK_SECRET, path: '/hooks/codesign?token=HookTokenSecret123456' });
});
afterEach(async () => {
  await receiver.close();
});

async function storage() {
  const queueName = uniqueName('notify');
  const tableName = uniqueName('deliveries');
  const queue = NotificationQueue.fromConnectionString(azuriteConnectionString(), queueName);
  const ledger = TableDeliveryLedger.fromConnectionString(azuriteConnectionString(), tableName, { allowInsecureConnection: true });
  await queue.ensureQueues();
  await ledger.ensureTable();
  return { queue, ledger, queueName, tableName };
}

function contextCapturing(lines: unknown[][], dequeueCount = 1): InvocationContext {
  return new InvocationContext({
    invocationId: 'test',
    functionName: 'deliver',
    logHandler: (level, ...args) => lines.push([level, ...args]),
    triggerMetadata: { dequeueCount },
  });
}

function channelsFor(url: string) {
  return parseChannels(JSON.stringify([{ id: 'soar', type: 'webhook', url, minSeverity: 'low', secret: WEBHOOK_SECRET, kinds: ['incident', 'health'] }]), {
    allowLoopbackForTests: true,
  });
}

describe('deliver function', () => {
  test('handler core: the host’s parsed JSON or base64 text both deliver; redelivery posts nothing', async () => {
    const { queue, ledger } = await storage();
    const clock = new TestClock(new Date());
    const deps = {
      channels: channelsFor(receiver.url),
      ledger,
      queue,
      send: createHttpSender({ clock, allowLoopbackForTests: true, timeoutMs: 2000 }),
      clock,
      random: () => 0.5,
    };
    const message = incidentMessage('soar');
    const lines: unknown[][] = [];
    expect(await handleDeliveryQueueEntry(JSON.parse(JSON.stringify(message)), contextCapturing(lines), deps)).toMatchObject({ status: 'delivered' });
    expect(await handleDeliveryQueueEntry(encodeQueueMessage(message), contextCapturing(lines, 2), deps)).toMatchObject({ status: 'duplicate' });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.verified?.ok).toBe(true);
    expect(lines.some(([level, text]) => level === 'warning' && String(text).includes('handed over again'))).toBe(true);
  });

  test('a malformed message goes to the poison queue verbatim and is acknowledged', async () => {
    const { queue, ledger } = await storage();
    const lines: unknown[][] = [];
    const clock = new TestClock();
    const deps = { channels: [], ledger, queue, send: createHttpSender({ clock }), clock, random: Math.random };
    expect(await handleDeliveryQueueEntry({ hello: 'world' }, contextCapturing(lines), deps)).toBeNull();
    const poison = await queue.listPoison();
    expect(poison).toHaveLength(1);
    expect(poison[0]!.problem).toBe('unsupported message version');
    expect(lines).toEqual([['error', 'malformed notification message moved to the poison queue', { problem: 'unsupported message version' }]]);
  });

  test('ALL logs of failing deliveries contain neither the webhook url nor the secret', async () => {
    const { queue, ledger } = await storage();
    const url = receiver.url;
    const token = 'HookTokenSecret123456';
    const secretBody = WEBHOOK_SECRET.slice('whsec_'.length);
    // A fetch that puts the url into its error (as some clients do) and a receiver that refuses.
    const leakyFetch: FetchLike = async (target, init) => {
      if (typeof init.body === 'string' && init.body.includes('"attempt-2-marker"')) throw new Error(`POST ${target} failed with secret ${WEBHOOK_SECRET}`);
      return fetch(target, init);
    };
    const clock = new TestClock(new Date());
    const deps = {
      channels: channelsFor(url),
      ledger,
      queue,
      send: createHttpSender({ clock, allowLoopbackForTests: true, timeoutMs: 100, fetch: leakyFetch }),
      clock,
      random: () => 0.5,
      // Per-message retries are under test here, not channel pausing.
      retry: { ...defaultRetryPolicy(2), pauseAfterFailures: 100 },
    };

    const captured: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        captured.push(JSON.stringify(args));
      }),
    );
    const lines: unknown[][] = [];
    const outcomes: unknown[] = [];
    try {
      receiver.script({ status: 401, body: `bad signature for ${url}` }, { hang: true }, { status: 500 }, { status: 500 });
      const base = incident();
      const first = incidentMessage('soar', base);
      outcomes.push(await handleDeliveryQueueEntry(first, contextCapturing(lines), deps)); // 401 → failed + health
      const second = incidentMessage('soar', { ...base, id: 'inc-timeout' });
      outcomes.push(await handleDeliveryQueueEntry(second, contextCapturing(lines), deps)); // timeout → retry
      outcomes.push(await handleDeliveryQueueEntry({ ...second, attempt: 2 }, contextCapturing(lines), deps)); // 500 → exhausted
      const third = incidentMessage('soar', { ...base, id: 'inc-leaky', title: 'attempt-2-marker' });
      outcomes.push(await handleDeliveryQueueEntry(third, contextCapturing(lines), deps)); // leaky error → retry
      const broken = { ...incidentMessage('soar'), channelId: 'other' };
      outcomes.push(await handleDeliveryQueueEntry(broken, contextCapturing(lines), deps)); // unknown channel
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(outcomes.map((o) => (o as { status: string }).status)).toEqual(['failed', 'requeued', 'failed', 'requeued', 'parked']);
    expect(lines.length).toBeGreaterThan(5);

    const poison = await queue.listPoison();
    const rows = await ledger.list();
    const queued = (await queue.queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
    expect(queued.some((q) => q.includes('"kind":"health"'))).toBe(true);
    const everything = JSON.stringify({ lines, captured, outcomes, poison, rows, queued });
    for (const secret of [url, token, WEBHOOK_SECRET, secretBody, '/hooks/codesign']) {
      expect(everything).not.toContain(secret);
    }
    // The logs name the channel by id.
    expect(JSON.stringify(lines)).toContain('soar');
  });

  test('deliverHandler reads its settings from the environment', async () => {
    const { queueName, tableName, ledger } = await storage();
    const saved = { ...process.env };
    Object.assign(process.env, {
      Storage: azuriteConnectionString(),
      NOTIFICATION_QUEUE: queueName,
      DELIVERIES_TABLE: tableName,
      NOTIFY_CHANNELS: JSON.stringify([{ id: 'soar', type: 'webhook', url: receiver.url, minSeverity: 'low', secret: WEBHOOK_SECRET }]),
      DELIVERY_ALLOW_LOOPBACK: 'true',
    });
    try {
      const message = incidentMessage('soar');
      await deliverHandler(JSON.parse(JSON.stringify(message)), contextCapturing([]));
      expect(receiver.requests).toHaveLength(1);
      expect((await ledger.get('soar', message.notificationId))?.state).toBe('delivered');
    } finally {
      process.env = saved;
    }
  });
});

describe('delivery settings', () => {
  test('defaults, read through the central settings', () => {
    expect(readDeliverySettings({ Storage: 'UseDevelopmentStorage=true' })).toEqual({
      queueName: 'notifications',
      tableName: 'deliveries',
      channelsJson: undefined,
      digestThreshold: 10,
      maxAttempts: 8,
      timeoutMs: 10_000,
      allowLoopbackForTests: false,
      allowFolderChannels: false,
      storage: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' },
    });
    expect(readDeliverySettings({ Storage: 'UseDevelopmentStorage=true', DELIVERY_TIMEOUT_SECONDS: '5' }).timeoutMs).toBe(5000);
    expect(readDeliverySettings({ Storage__queueServiceUri: 'https://a.queue.core.windows.net', Storage__tableServiceUri: 'https://a.table.core.windows.net' }).storage).toMatchObject({
      kind: 'identity',
    });
  });

  test('invalid values are named', () => {
    const env = { Storage: 'UseDevelopmentStorage=true' };
    expect(() => readDeliverySettings({ ...env, DELIVERY_MAX_ATTEMPTS: '0' })).toThrow(ConfigError);
    // Fewer than 8 attempts would give a notification up within a day.
    expect(() => readDeliverySettings({ ...env, DELIVERY_MAX_ATTEMPTS: '6' })).toThrow(/DELIVERY_MAX_ATTEMPTS/);
    expect(() => readDeliverySettings({ ...env, NOTIFICATION_QUEUE: 'Bad_Name' })).toThrow(/NOTIFICATION_QUEUE/);
    expect(() => readDeliverySettings({ ...env, TEAMS_DIGEST_THRESHOLD: 'lots' })).toThrow(/TEAMS_DIGEST_THRESHOLD must be a number/);
  });
});

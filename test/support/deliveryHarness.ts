/**
 * A delivery test bench: a fresh Azurite ledger, an in-memory queue port that records what the
 * deliverer enqueues (with delays) and poisons, a test clock, captured logs, and the real HTTP
 * sender with loopback allowed and a short timeout.
 */
import { parseChannels, type Channel } from '../../shared/notify/channels';
import { deliverMessage, type DeliveryDeps, type DeliveryLog, type DeliveryOutcome, type LogFields } from '../../shared/notify/deliver';
import { TableDeliveryLedger, type DeliveryLedger } from '../../shared/notify/ledger';
import { NOTIFICATION_MESSAGE_VERSION, incidentNotificationId, type NotificationMessage } from '../../shared/notify/message';
import type { DeliveryQueuePort } from '../../shared/notify/queue';
import { defaultRetryPolicy } from '../../shared/notify/retry';
import { createHttpSender, type Sender } from '../../shared/notify/send';
import { azuriteConnectionString, uniqueName } from './azurite';
import { TestClock, incident } from './notifyFixtures';
import type { Incident } from '../../shared/model/incident';

export const WEBHOOK_SECRET = `whsec_${Buffer.from('codesign-hunt-test-secret-0123456789').toString('base64')}`;
export const OPS_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

export class RecordingQueue implements DeliveryQueuePort {
  enqueued: Array<{ message: NotificationMessage; delaySeconds: number }> = [];
  poisoned: Array<{ message: NotificationMessage; reason: { code: string; status: number | null } }> = [];
  raw: string[] = [];
  async enqueue(messages: readonly NotificationMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
    for (const message of messages) this.enqueued.push({ message, delaySeconds: options.delaySeconds ?? 0 });
  }
  async poison(message: NotificationMessage, reason: { code: string; status: number | null }): Promise<void> {
    this.poisoned.push({ message, reason });
  }
  async poisonRaw(text: string): Promise<void> {
    this.raw.push(text);
  }
  /** Removes and returns what was enqueued for `kind` (e.g. the health alerts). */
  take(kind?: NotificationMessage['kind']): Array<{ message: NotificationMessage; delaySeconds: number }> {
    const taken = this.enqueued.filter((e) => !kind || e.message.kind === kind);
    this.enqueued = this.enqueued.filter((e) => !taken.includes(e));
    return taken;
  }
}

export interface CapturedLog {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: LogFields;
}

export function captureLog(): DeliveryLog & { lines: CapturedLog[]; text(): string } {
  const lines: CapturedLog[] = [];
  return {
    lines,
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    text: () => JSON.stringify(lines),
  };
}

export interface Bench {
  deps: DeliveryDeps;
  ledger: TableDeliveryLedger;
  queue: RecordingQueue;
  clock: TestClock;
  log: ReturnType<typeof captureLog>;
  deliver(message: NotificationMessage, overrides?: Partial<DeliveryDeps>): Promise<DeliveryOutcome>;
}

export async function createBench(
  channels: Channel[],
  options: { timeoutMs?: number; maxAttempts?: number; pauseAfterFailures?: number; send?: Sender; ledger?: (l: TableDeliveryLedger) => DeliveryLedger } = {},
): Promise<Bench> {
  const ledger = TableDeliveryLedger.fromConnectionString(azuriteConnectionString(), uniqueName('deliveries'), { allowInsecureConnection: true });
  await ledger.ensureTable();
  const queue = new RecordingQueue();
  // Starts at the real time: receivers verify webhook-timestamp against their own clock.
  const clock = new TestClock(new Date());
  const log = captureLog();
  const deps: DeliveryDeps = {
    channels,
    ledger: options.ledger ? options.ledger(ledger) : ledger,
    queue,
    // A receiver that answers must never time out on a loaded machine (300 ms did, once, on two
    // busy cores); tests of a hanging receiver pass their own short timeout.
    send: options.send ?? createHttpSender({ clock, timeoutMs: options.timeoutMs ?? 10_000, allowLoopbackForTests: true }),
    clock,
    log,
    random: () => 0.5,
    // Channel pausing has its own tests (outage.test.ts); elsewhere a message's own retries are under test.
    retry: { ...defaultRetryPolicy(options.maxAttempts ?? 4), pauseAfterFailures: options.pauseAfterFailures ?? Number.MAX_SAFE_INTEGER },
    leaseMs: 60_000,
  };
  return { deps, ledger, queue, clock, log, deliver: (message, overrides = {}) => deliverMessage(message, { ...deps, ...overrides }) };
}

export function incidentMessage(channelId: string, i: Incident = incident()): NotificationMessage {
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'incident',
    channelId,
    notificationId: incidentNotificationId(i.id, 'created', i.revision),
    attempt: 1,
    createdAt: '2024-05-01T12:00:00.000Z',
    payload: { event: 'created', incident: i },
  };
}

/** Revision `revision` of incident `incidentId` for a channel: `created` for 1, `updated` after. */
export function revisionMessage(channelId: string, incidentId: string, revision: number, createdAt = `2024-05-01T12:0${revision % 10}:00.000Z`): NotificationMessage {
  const event = revision === 1 ? 'created' : 'updated';
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'incident',
    channelId,
    notificationId: incidentNotificationId(incidentId, event, revision),
    attempt: 1,
    createdAt,
    payload: { event, incident: incident({ id: incidentId, revision, findingCount: revision, status: revision === 1 ? 'new' : 'updated' }) },
  };
}

/** A webhook channel `soar` and a Teams channel `soc-teams` on local receivers. */
export function webhookAndTeams(hookUrl: string, teamsUrl: string): Channel[] {
  return parseChannels(
    JSON.stringify([
      { id: 'soar', type: 'webhook', url: hookUrl, minSeverity: 'low', secret: WEBHOOK_SECRET },
      { id: 'soc-teams', type: 'teams', url: teamsUrl, minSeverity: 'low' },
    ]),
    { allowLoopbackForTests: true },
  );
}

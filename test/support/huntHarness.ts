/**
 * A hunt runtime for integration tests: real Table and Queue Storage on the run's Azurite (unique
 * table and queue names per harness), the real GraphHuntingClient against a nock-intercepted
 * Graph, a fake clock whose sleeps only advance time, and the demo's sample as Defender's data
 * (answering only the rows of the window each query names, like Defender).
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import nock from 'nock';
import { createHuntRuntime, type HuntRuntime } from '../../shared/app/huntRuntime';
import { memoryLogger } from '../../shared/app/logger';
import type { Clock } from '../../shared/clock';
import { loadSettings, type Settings } from '../../shared/config/settings';
import { rowsForQuery } from '../../shared/demo/windowedReplay';
import { GraphHuntingClient } from '../../shared/hunting/graphClient';
import type { HuntingQueryResults } from '../../shared/hunting/types';
import { decodeQueueMessage, encodeQueueMessage, type NotificationMessage } from '../../shared/notify/message';
import { NotificationQueue } from '../../shared/notify/queue';
import { parseChannels } from '../../shared/notify/channels';
import { azuriteConnectionString, uniqueName } from './azurite';

export const GRAPH = 'https://graph.microsoft.com';
export const HUNT_PATH = '/v1.0/security/runHuntingQuery';

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private current: number) {}
  now(): Date {
    return new Date(this.current);
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: Date): void {
    this.current = at.getTime();
  }
}

export const fakeCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

export interface GraphCall {
  query: string;
  timespan: string | undefined;
  window: { start: string; end: string } | null;
}

export interface Harness {
  settings: Settings;
  clock: FakeClock;
  log: ReturnType<typeof memoryLogger>;
  queue: NotificationQueue;
  calls: GraphCall[];
  runtime(): HuntRuntime;
  /** Every message enqueued on the (real) notification queue so far, in order. */
  queuedMessages(): Promise<NotificationMessage[]>;
  /** How many messages the queue holds now (Azurite's count). */
  queueLength(): Promise<number>;
}

const WINDOW = /let\s+Window(Start|End)\s*=\s*datetime\(\s*([^)]+?)\s*\)/g;

export function windowOf(query: string): { start: string; end: string } | null {
  const found: Record<string, string> = {};
  for (const m of query.matchAll(WINDOW)) found[m[1] ?? ''] = m[2] ?? '';
  return found.Start && found.End ? { start: found.Start, end: found.End } : null;
}

/**
 * `respond(call, index)` may return a nock reply `[status, body, headers?]`; undefined answers
 * with the data set's rows for the window.
 */
export async function createHarness(options: {
  now: Date;
  data: HuntingQueryResults;
  env?: Record<string, string>;
  respond?: (call: GraphCall, index: number) => [number, unknown, Record<string, string>?] | undefined;
}): Promise<Harness> {
  const queueName = uniqueName('ntf');
  const env: Record<string, string> = {
    Storage: azuriteConnectionString(),
    TENANT_ID: uniqueName('tenant'),
    CHECKPOINTS_TABLE: uniqueName('ckpt'),
    INCIDENTS_TABLE: uniqueName('inc'),
    ALLOWLIST_TABLE: uniqueName('allow'),
    ALLOWLIST_AUDIT_TABLE: uniqueName('audit'),
    DELIVERIES_TABLE: uniqueName('deliv'),
    RECENT_STEPS_TABLE: uniqueName('steps'),
    NOTIFICATION_QUEUE: queueName,
    NOTIFY_CHANNELS: JSON.stringify([
      { id: 'soc', type: 'webhook', url: 'https://hooks.example.com/soc', minSeverity: 'informational', kinds: ['incident', 'health', 'allowlist-change'], secret: 'whsec_Y29kZXNpZ24taHVudC10ZXN0LXNlY3JldC1mb3ItdGhlLWhhcm5lc3M=' },
    ]),
    ...options.env,
  };
  const settings = loadSettings(env);
  const clock = new FakeClock(options.now.getTime());
  const log = memoryLogger();
  const queue = NotificationQueue.fromConnectionString(settings.storage.kind === 'connection-string' ? settings.storage.connectionString : '', queueName);
  await queue.ensureQueues();
  const sent: NotificationMessage[] = [];
  const enqueue = queue.enqueue.bind(queue);
  queue.enqueue = async (messages, opts) => {
    await enqueue(messages, opts);
    sent.push(...messages.map((m) => decodeQueueMessage(encodeQueueMessage(m))));
  };
  const calls: GraphCall[] = [];
  nock.cleanAll();
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || host.startsWith('localhost'));
  nock(GRAPH)
    .persist()
    .post(HUNT_PATH)
    .reply((_uri, body) => {
      const request = body as { Query: string; Timespan?: string };
      const call: GraphCall = { query: request.Query, timespan: request.Timespan, window: windowOf(request.Query) };
      calls.push(call);
      const custom = options.respond?.(call, calls.length - 1);
      if (custom) return custom;
      const rows = rowsForQuery(options.data, request.Query);
      return [200, { '@odata.context': `${GRAPH}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults`, schema: rows.schema, results: rows.results }];
    });
  const channels = parseChannels(settings.delivery.channelsJson, {});
  const harness: Harness = {
    settings,
    clock,
    log,
    queue,
    calls,
    runtime: () =>
      createHuntRuntime({
        settings,
        log,
        clock,
        channels,
        queue,
        random: () => 0.5,
        source: new GraphHuntingClient({ baseUrl: GRAPH, authentication: 'entra', credential: fakeCredential, timeoutMs: 5000 }),
      }),
    async queuedMessages() {
      return [...sent];
    },
    async queueLength() {
      return queue.approximateCount();
    },
  };
  await harness.runtime().ensureStorage();
  return harness;
}

/** Rebases the demo sample so its rows sit in the hours before `anchor` (ingestion time). */
export function shiftRows(data: HuntingQueryResults, offsetMs: number): HuntingQueryResults {
  const shift = (value: unknown): unknown => {
    const time = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isNaN(time) ? value : new Date(time + offsetMs).toISOString();
  };
  return {
    schema: data.schema,
    results: data.results.map((row) => ({ ...row, Timestamp: shift(row.Timestamp), IngestionTime: shift(row.IngestionTime) })),
  };
}

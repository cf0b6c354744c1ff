/**
 * One scheduled cycle of the app, as a process the fault-injection test can SIGKILL: the hunt
 * (every enabled rule), then the deliverer draining the notification queue like the Functions
 * host, then the timer's upkeep (probing paused channels). The production composition root is
 * used as is; only the adapters differ: a clock fixed at the simulated time (sleeps advance it),
 * a seeded random, and a queue that makes re-enqueued messages visible at once (the simulated
 * 10 minutes between cycles stand for their visibility delay).
 *
 * At every stage (shared/stages.ts) the child tells its parent over IPC and waits for a go: the
 * parent either answers or kills the child right there.
 *
 * Input: CHAOS_CONFIG (JSON: now, seed, env, maxDeliveries). Output on IPC: { done, outcomes }.
 */
import { createHash } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { createDeliveryRuntime } from '../../shared/app/deliveryRuntime';
import { createHuntRuntime } from '../../shared/app/huntRuntime';
import { memoryLogger } from '../../shared/app/logger';
import type { Clock } from '../../shared/clock';
import { loadSettings } from '../../shared/config/settings';
import { deliverMessage } from '../../shared/notify/deliver';
import { webhookBody } from '../../shared/notify/webhook';
import type { Stage } from '../../shared/stages';
import { prng as seededRandom } from '../../bench/synthetic';

export interface ChildConfig {
  now: string;
  seed: number;
  env: Record<string, string>;
  maxDeliveries: number;
  /** A table where the child notes every message it enqueues: (notification id, body hash). */
  journalTable: string;
}

export type ChildToParent = { stage: Stage } | { done: true; outcomes: string[]; errors: string[] };

class SimulatedClock implements Clock {
  constructor(private current: number) {}
  now(): Date {
    return new Date(this.current);
  }
  async sleep(ms: number): Promise<void> {
    this.current += ms;
  }
}

let release: (() => void) | null = null;
process.on('message', () => {
  const go = release;
  release = null;
  go?.();
});

function send(message: ChildToParent): Promise<void> {
  return new Promise((resolve, reject) => process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function atStage(stage: Stage): Promise<void> {
  const go = new Promise<void>((resolve) => {
    release = resolve;
  });
  await send({ stage });
  await go;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CHAOS_CONFIG ?? '{}') as ChildConfig;
  const clock = new SimulatedClock(Date.parse(config.now));
  const random = seededRandom(config.seed);
  const log = memoryLogger();
  const settings = loadSettings(config.env);
  const delivery = createDeliveryRuntime(settings, log, { clock, random, onStage: atStage });
  // Every body enqueued under an id is noted, so the parent can check one body per id at the
  // source too (the receiver sees a repeated id only when a post is repeated).
  const journal = TableClient.fromConnectionString(config.env.Storage ?? '', config.journalTable, { allowInsecureConnection: true });
  const enqueue = delivery.queue.enqueue.bind(delivery.queue);
  delivery.queue.enqueue = async (messages) => {
    await enqueue(messages);
    for (const message of messages) {
      const hash = createHash('sha256').update(webhookBody(message)).digest('hex').slice(0, 32);
      await journal.upsertEntity({ partitionKey: message.notificationId, rowKey: hash }, 'Replace');
    }
  };
  const runtime = createHuntRuntime({ settings, log, clock, random, channels: delivery.channels, queue: delivery.queue, delivery, onStage: atStage });

  const outcomes = (await runtime.runAll()).map((r) => r.outcome);
  const drainOptions = { maxMessages: config.maxDeliveries, maxDequeueCount: 5, visibilityTimeoutSeconds: 2 };
  await delivery.queue.drain((message) => deliverMessage(message, delivery), drainOptions);
  await runtime.housekeeping();
  await delivery.queue.drain((message) => deliverMessage(message, delivery), drainOptions);
  // Errors the faults are expected to cause; anything else logged as an error is reported.
  const expected = /^(health alert |HUNT_HEALTH_ALERT|delivery failed|hunt \S+ (failed|throttled):|no channel subscribes to health alerts)/;
  const errors = log.records.filter((r) => r.level === 'error' && !expected.test(r.message)).map((r) => r.message);
  await send({ done: true, outcomes, errors });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/**
 * Many tenants end to end for tests: the local world of shared/demo/manyTenants.ts (Azurite, the
 * local Graph for many tenants, the registry, the timer's fan-out onto a real hunt-jobs queue,
 * workers in this process that drain it like the queue trigger) on the run's Azurite with unique
 * names. Time is a virtual clock shared by every worker: it moves only when every job in progress
 * is waiting (pacing, Retry-After), so what one worker waits never reorders another's calls, and
 * nothing sleeps for real.
 */
import { memoryLogger } from '../../shared/app/logger';
import type { Clock } from '../../shared/clock';
import { configuredQueueConcurrency, createLocalTenantWorld, type LocalTenantWorld } from '../../shared/demo/manyTenants';
import { decodeQueueMessage, type NotificationMessage } from '../../shared/notify/message';
import { loadRules } from '../../shared/rules/loadRules';
import type { DrainJobsSummary } from '../../shared/tenants/jobs';
import { azuriteConnectionString, uniqueName } from './azurite';

export { localTenantId } from '../../shared/hunting/tenantGraphServer';

/** Virtual time shared by concurrent workers: it advances only when every job in progress waits. */
export class VirtualClock implements Clock {
  private sleepers: { at: number; resolve: () => void }[] = [];
  private busy = 0;
  constructor(private current: number) {}

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleepers.push({ at: this.current + ms, resolve });
      this.maybeAdvance();
    });
  }

  /** Runs a job: while it runs, time only moves when it (and every other job) waits. */
  async participate<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await work();
    } finally {
      this.busy--;
      this.maybeAdvance();
    }
  }

  /** Between ticks, with no job in progress. */
  advanceTo(at: number): void {
    if (this.busy > 0) throw new Error('advanceTo while jobs are running');
    this.current = Math.max(this.current, at);
  }

  private maybeAdvance(): void {
    if (this.sleepers.length === 0 || this.sleepers.length < this.busy) return;
    this.current = Math.max(this.current, Math.min(...this.sleepers.map((s) => s.at)));
    const due = this.sleepers.filter((s) => s.at <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.at > this.current);
    for (const sleeper of due) sleeper.resolve();
  }
}

export interface TenantWorld extends Omit<LocalTenantWorld, 'drain'> {
  clock: VirtualClock;
  log: ReturnType<typeof memoryLogger>;
  /** Drains the hunt-jobs queue with `concurrency` workers (default: host.json's per-instance concurrency). */
  drain(concurrency?: number): Promise<DrainJobsSummary>;
  /** Every notification on the (real) queue, taken off it. */
  notificationMessages(): Promise<NotificationMessage[]>;
}

const RULES = loadRules();

export async function createTenantWorld(options: { now: Date; env?: Record<string, string>; channelsFor?: string[] }): Promise<TenantWorld> {
  const clock = new VirtualClock(options.now.getTime());
  const log = memoryLogger();
  const world = await createLocalTenantWorld({
    storage: azuriteConnectionString(),
    clock,
    log,
    name: uniqueName,
    participate: (work) => clock.participate(work),
    rules: RULES,
    ...(options.channelsFor ? { channelsFor: options.channelsFor } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  return {
    ...world,
    clock,
    log,
    drain: (concurrency = configuredQueueConcurrency()) => world.drain(concurrency),
    async notificationMessages() {
      const messages: NotificationMessage[] = [];
      for (;;) {
        const batch = await world.notifications.queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
        if (batch.receivedMessageItems.length === 0) return messages;
        for (const item of batch.receivedMessageItems) messages.push(decodeQueueMessage(item.messageText));
      }
    },
  };
}

/**
 * Hunt jobs: the unit of fan-out. The timer puts one message per due tenant on the `hunt-jobs`
 * queue (HUNT_JOBS_QUEUE) and the queue-triggered huntTenant function hunts that tenant; Azure
 * Functions scales the workers out, host.json bounds the concurrency per instance. A job is
 * identified by tenant + schedule slot, so an enqueue that happens twice is harmless: a job whose
 * slot already ran to its end is dropped, and two copies running at once meet at the checkpoint
 * lease. This module owns the message format, the enqueue, which tenants are due, and an
 * in-process `drain` that behaves like the queue trigger (the CLI, tests and the benchmark).
 */
import type { QueueClient } from '@azure/storage-queue';
import type { TenantJobStatus } from './status';
import { isDue } from './status';
import type { Tenant } from './tenant';
import { TENANT_KEY_PATTERN } from './tenant';

export const HUNT_JOB_VERSION = 1;

export interface HuntJob {
  v: typeof HUNT_JOB_VERSION;
  /** `<tenant>@<slot>`: the same for every copy of one tenant's job in one schedule slot. */
  jobId: string;
  tenant: string;
  /** The schedule tick the job belongs to (ISO minute). */
  slot: string;
  enqueuedAt: string;
}

export class HuntJobFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HuntJobFormatError';
  }
}

/** The schedule slot of a timer tick: the minute it fired in (a late or repeated tick maps to the same one). */
export function slotOf(now: Date): string {
  return new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();
}

export function huntJobFor(tenant: string, slot: string, now: Date): HuntJob {
  return { v: HUNT_JOB_VERSION, jobId: `${tenant}@${slot}`, tenant, slot, enqueuedAt: now.toISOString() };
}

/** Base64 JSON, as the queue trigger reads it (host.json messageEncoding base64). */
export function encodeHuntJob(job: HuntJob): string {
  return Buffer.from(JSON.stringify(job), 'utf8').toString('base64');
}

/** A job from the queue: base64 JSON (the host hands the decoded text or the parsed object). */
export function parseHuntJob(input: unknown): HuntJob {
  let value = input;
  if (typeof value === 'string') {
    const text = /^[A-Za-z0-9+/]+={0,2}$/.test(value.trim()) ? Buffer.from(value, 'base64').toString('utf8') : value;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      throw new HuntJobFormatError('hunt job is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HuntJobFormatError('hunt job is not an object');
  const job = value as Record<string, unknown>;
  if (job.v !== HUNT_JOB_VERSION) throw new HuntJobFormatError(`hunt job version ${JSON.stringify(job.v)} is not ${HUNT_JOB_VERSION}`);
  if (typeof job.tenant !== 'string' || !TENANT_KEY_PATTERN.test(job.tenant)) throw new HuntJobFormatError('hunt job has no valid tenant');
  if (typeof job.slot !== 'string' || Number.isNaN(Date.parse(job.slot))) throw new HuntJobFormatError('hunt job has no valid slot');
  const enqueuedAt = typeof job.enqueuedAt === 'string' ? job.enqueuedAt : job.slot;
  return huntJobFor(job.tenant, job.slot, new Date(enqueuedAt));
}

export interface FanOutPlan {
  due: Tenant[];
  paused: Tenant[];
  /** Failing tenants waiting out their own backoff. */
  backingOff: Tenant[];
}

/** Which registry tenants get a job this tick. Pure. */
export function planFanOut(tenants: readonly Tenant[], statuses: ReadonlyMap<string, TenantJobStatus>, now: Date): FanOutPlan {
  const plan: FanOutPlan = { due: [], paused: [], backingOff: [] };
  for (const tenant of tenants) {
    if (tenant.paused) plan.paused.push(tenant);
    else if (!isDue(statuses.get(tenant.key), now)) plan.backingOff.push(tenant);
    else plan.due.push(tenant);
  }
  return plan;
}

/** Sends in flight at once when the timer enqueues many jobs (the queue service has no batch send). */
export const ENQUEUE_CONCURRENCY = 16;

export interface DrainJobsOptions {
  /** Jobs handled at once, like host.json batchSize + newBatchThreshold per instance. */
  concurrency: number;
  /** How long a received job stays invisible while handled; a crashed worker's job reappears after it. */
  visibilityTimeoutSeconds: number;
  /** After a failure the job is retried after this many seconds (host.json visibilityTimeout). */
  retryAfterSeconds?: number;
  /** Like host.json maxDequeueCount: a job that failed this often goes to the poison queue. */
  maxDequeueCount?: number;
  onError?: (error: unknown, meta: { messageId: string; dequeueCount: number }) => void;
}

export interface DrainJobsSummary {
  handled: number;
  failed: number;
  poisoned: number;
}

export class HuntJobQueue {
  constructor(
    readonly queue: QueueClient,
    readonly poisonQueue: QueueClient,
  ) {}

  async ensure(): Promise<void> {
    await Promise.all([this.queue.createIfNotExists(), this.poisonQueue.createIfNotExists()]);
  }

  async enqueue(jobs: readonly HuntJob[]): Promise<void> {
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++];
        // A job older than two intervals is superseded by the next tick's; a day is ample.
        if (job) await this.queue.sendMessage(encodeHuntJob(job), { messageTimeToLive: 24 * 3600 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(ENQUEUE_CONCURRENCY, jobs.length) }, sender));
  }

  /**
   * Handles every visible job with `concurrency` workers, as the queue trigger would: delete on
   * success, retry later on failure, poison after `maxDequeueCount`. Returns when the queue shows
   * no visible job and every worker is idle.
   */
  async drain(handler: (job: HuntJob, meta: { messageId: string; dequeueCount: number }) => Promise<unknown>, options: DrainJobsOptions): Promise<DrainJobsSummary> {
    const summary: DrainJobsSummary = { handled: 0, failed: 0, poisoned: 0 };
    const maxDequeueCount = options.maxDequeueCount ?? 5;
    const worker = async (): Promise<void> => {
      for (;;) {
        const received = await this.queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: options.visibilityTimeoutSeconds });
        const item = received.receivedMessageItems[0];
        if (!item) return;
        let job: HuntJob;
        try {
          job = parseHuntJob(item.messageText);
        } catch {
          // Nothing will make it readable: straight to the poison queue, kept verbatim.
          await this.poisonQueue.sendMessage(item.messageText, { messageTimeToLive: -1 });
          await this.queue.deleteMessage(item.messageId, item.popReceipt);
          summary.poisoned++;
          continue;
        }
        try {
          await handler(job, { messageId: item.messageId, dequeueCount: item.dequeueCount });
          await this.queue.deleteMessage(item.messageId, item.popReceipt);
          summary.handled++;
        } catch (error) {
          summary.failed++;
          options.onError?.(error, { messageId: item.messageId, dequeueCount: item.dequeueCount });
          if (item.dequeueCount >= maxDequeueCount) {
            await this.poisonQueue.sendMessage(item.messageText, { messageTimeToLive: -1 });
            await this.queue.deleteMessage(item.messageId, item.popReceipt);
            summary.poisoned++;
          } else {
            await this.queue.updateMessage(item.messageId, item.popReceipt, undefined, options.retryAfterSeconds ?? 0);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    return summary;
  }
}

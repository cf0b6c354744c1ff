/**
 * The delivery retry policy, pure: the schedule the standard webhook senders use (retries after
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: about 27 hours in all), bounded jitter from an
 * injected random source, Retry-After honoured, and when a channel that keeps failing is paused
 * instead of spending attempts per message. The deliverer applies a message decision by
 * re-enqueueing the message with `attempt + 1` and the delay as the queue visibility timeout, so a
 * receiver that is down for hours costs queue storage, not a function instance sleeping; the
 * channel decision is applied by shared/notify/pause.ts.
 */

export interface RetryPolicy {
  /** Total attempts of one message including the first; the schedule has maxAttempts - 1 entries. */
  maxAttempts: number;
  /** Delays in seconds: the retry after attempt n waits about schedule[n-1]. */
  schedule: readonly number[];
  /**
   * Each delay is drawn from [d × (1 − jitter), d × (1 + jitter)]: retries of many messages spread
   * out, but a delay never collapses towards zero (full jitter would make a day of retries last
   * minutes in an unlucky draw).
   */
  jitter: number;
  /** A longer Retry-After than this is capped (a misbehaving receiver must not park us for days). */
  maxRetryAfterSeconds: number;
  /**
   * Consecutive retryable failures on one channel, whatever the messages, after which the channel
   * is paused: its messages wait (held) and only one probe goes out per step of the schedule.
   */
  pauseAfterFailures: number;
}

/** Azure Storage queue visibility timeouts can be at most 7 days. */
export const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

/** Standard Webhooks senders (e.g. Svix): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const STANDARD_WEBHOOK_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

export const DEFAULT_MAX_ATTEMPTS = STANDARD_WEBHOOK_SCHEDULE.length + 1;
export const DEFAULT_JITTER = 0.1;
export const DEFAULT_PAUSE_AFTER_FAILURES = 3;
/** The least retry span the policy must keep, even in the shortest jitter draw. */
export const MIN_RETRY_HORIZON_SECONDS = 24 * 3600;

/** The standard schedule for `maxAttempts`: cut short, or extended by its last (10 h) step. */
export function backoffSchedule(maxAttempts: number): number[] {
  const last = STANDARD_WEBHOOK_SCHEDULE[STANDARD_WEBHOOK_SCHEDULE.length - 1] ?? 36_000;
  return Array.from({ length: Math.max(0, maxAttempts - 1) }, (_, n) => STANDARD_WEBHOOK_SCHEDULE[n] ?? last);
}

export function defaultRetryPolicy(maxAttempts = DEFAULT_MAX_ATTEMPTS): RetryPolicy {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
    throw new RangeError('maxAttempts must be an integer from 1 to 20');
  }
  return {
    maxAttempts,
    schedule: backoffSchedule(maxAttempts),
    jitter: DEFAULT_JITTER,
    maxRetryAfterSeconds: 6 * 3600,
    pauseAfterFailures: DEFAULT_PAUSE_AFTER_FAILURES,
  };
}

/** The shortest time from a first failure to the last retry: every delay at its lowest draw. */
export function retryHorizonSeconds(policy: RetryPolicy): number {
  return policy.schedule.reduce((sum, d) => sum + Math.ceil(d * (1 - policy.jitter)), 0);
}

/** `seconds` moved by at most ±jitter of itself, by the injected random draw. */
function jittered(seconds: number, policy: RetryPolicy, random: () => number): number {
  const drawn = random();
  const r = Number.isFinite(drawn) ? Math.min(Math.max(drawn, 0), 1) : 0.5;
  const jitter = Math.min(Math.max(policy.jitter, 0), 1);
  return Math.max(1, Math.round(seconds * (1 + jitter * (2 * r - 1))));
}

export type RetryDecision = { action: 'retry'; nextAttempt: number; delaySeconds: number } | { action: 'give-up' };

/**
 * What to do after attempt `attempt` (1-based) of one message failed in a retryable way. A
 * Retry-After from the receiver is a floor on the delay.
 */
export function decideRetry(
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterSeconds: number | null = null,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { action: 'give-up' };
  const base = policy.schedule[attempt - 1] ?? policy.schedule[policy.schedule.length - 1] ?? 60;
  let delay = jittered(base, policy, random);
  if (retryAfterSeconds !== null && retryAfterSeconds > 0) {
    delay = Math.max(delay, Math.ceil(Math.min(retryAfterSeconds, policy.maxRetryAfterSeconds)));
  }
  return { action: 'retry', nextAttempt: attempt + 1, delaySeconds: Math.min(delay, MAX_VISIBILITY_SECONDS - 60) };
}

export type ChannelFailureDecision =
  /** Not yet a pattern: the message retries on its own schedule. */
  | { action: 'retry-message' }
  /** Pause the channel: hold its messages, probe it again after `delaySeconds`. */
  | { action: 'pause'; delaySeconds: number }
  /** The schedule is spent (more than a day): what waited goes to the poison queue with an alert. */
  | { action: 'give-up' };

/**
 * What a channel's `failures`-th consecutive retryable failure (1-based) means. A paused channel
 * waits the same schedule as a message would (the step of its failure count), so a channel is
 * given up no sooner than a message: never within MIN_RETRY_HORIZON_SECONDS.
 */
export function decideChannelFailure(failures: number, policy: RetryPolicy, random: () => number): ChannelFailureDecision {
  if (failures < policy.pauseAfterFailures) return { action: 'retry-message' };
  const step = policy.schedule[failures - 1];
  if (step === undefined) return { action: 'give-up' };
  return { action: 'pause', delaySeconds: Math.min(jittered(step, policy, random), MAX_VISIBILITY_SECONDS - 60) };
}

/**
 * Retry-After as seconds from `now`: either delta-seconds or an HTTP-date. Garbage, negative or
 * missing values give null (then only the backoff applies).
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  if (!/^[A-Za-z]{3},\s/.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/**
 * The delivery retry policy, pure: an explicit schedule of exponential backoff ceilings, full
 * jitter from an injected random source, and Retry-After honoured. The deliverer applies a
 * decision by re-enqueueing the message with `attempt + 1` and the delay as the queue visibility
 * timeout, so a receiver that is down for hours costs queue storage, not a function instance
 * sleeping; after the last attempt the message goes to the poison queue.
 */

export interface RetryPolicy {
  /** Total attempts including the first; the schedule has maxAttempts - 1 entries. */
  maxAttempts: number;
  /** Backoff ceilings in seconds: the delay after attempt n is drawn from [1, schedule[n-1]]. */
  schedule: readonly number[];
  /** A longer Retry-After than this is capped (a misbehaving receiver must not park us for days). */
  maxRetryAfterSeconds: number;
}

/** Azure Storage queue visibility timeouts can be at most 7 days. */
export const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

export const DEFAULT_MAX_ATTEMPTS = 6;

/**
 * Ceilings base * factor^(n-1), capped. Defaults (60 s, x4, 2 h) give 60 s, 4 min, 16 min,
 * 64 min, 2 h for six attempts: a receiver can be down for about three hours before a
 * notification is given up (it is still in the poison queue and the ledger then).
 */
export function backoffSchedule(maxAttempts: number, baseSeconds = 60, factor = 4, capSeconds = 7200): number[] {
  const out: number[] = [];
  for (let n = 1; n < maxAttempts; n++) out.push(Math.min(capSeconds, baseSeconds * factor ** (n - 1)));
  return out;
}

export function defaultRetryPolicy(maxAttempts = DEFAULT_MAX_ATTEMPTS): RetryPolicy {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
    throw new RangeError('maxAttempts must be an integer from 1 to 20');
  }
  return { maxAttempts, schedule: backoffSchedule(maxAttempts), maxRetryAfterSeconds: 6 * 3600 };
}

export type RetryDecision = { action: 'retry'; nextAttempt: number; delaySeconds: number } | { action: 'give-up' };

/**
 * What to do after attempt `attempt` (1-based) failed in a retryable way. Full jitter: the delay
 * is uniform in [1, ceiling] so many failed notifications do not come back at the same moment.
 * A Retry-After from the receiver is a floor on the delay.
 */
export function decideRetry(
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterSeconds: number | null = null,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { action: 'give-up' };
  const ceiling = policy.schedule[attempt - 1] ?? policy.schedule[policy.schedule.length - 1] ?? 60;
  const drawn = random();
  const r = Number.isFinite(drawn) ? Math.min(Math.max(drawn, 0), 1) : 1;
  let delay = Math.max(1, Math.ceil(r * ceiling));
  if (retryAfterSeconds !== null && retryAfterSeconds > 0) {
    delay = Math.max(delay, Math.ceil(Math.min(retryAfterSeconds, policy.maxRetryAfterSeconds)));
  }
  return { action: 'retry', nextAttempt: attempt + 1, delaySeconds: Math.min(delay, MAX_VISIBILITY_SECONDS) };
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

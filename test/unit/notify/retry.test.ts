import fc from 'fast-check';
import {
  MAX_VISIBILITY_SECONDS,
  MIN_RETRY_HORIZON_SECONDS,
  STANDARD_WEBHOOK_SCHEDULE,
  backoffSchedule,
  decideChannelFailure,
  decideRetry,
  defaultRetryPolicy,
  parseRetryAfter,
  retryHorizonSeconds,
} from '../../../shared/notify/retry';

const now = new Date('2024-05-01T12:00:00.000Z');

describe('retry policy', () => {
  test("the standard webhook senders' schedule: seconds, minutes, then hours", () => {
    expect(STANDARD_WEBHOOK_SCHEDULE).toEqual([5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
    expect(defaultRetryPolicy().maxAttempts).toBe(8);
    expect(defaultRetryPolicy().schedule).toEqual(STANDARD_WEBHOOK_SCHEDULE);
    expect(backoffSchedule(4)).toEqual([5, 300, 1800]);
    expect(backoffSchedule(10)).toEqual([...STANDARD_WEBHOOK_SCHEDULE, 36_000, 36_000]);
    expect(defaultRetryPolicy(1).schedule).toEqual([]);
    expect(() => defaultRetryPolicy(0)).toThrow(RangeError);
  });

  test('retries span at least 24 hours even when every jitter draw is the shortest', () => {
    const policy = defaultRetryPolicy();
    expect(retryHorizonSeconds(policy)).toBeGreaterThanOrEqual(MIN_RETRY_HORIZON_SECONDS);
    let total = 0;
    for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
      const d = decideRetry(attempt, policy, () => 0);
      if (d.action !== 'retry') throw new Error('expected a retry');
      total += d.delaySeconds;
    }
    expect(total).toBeGreaterThanOrEqual(MIN_RETRY_HORIZON_SECONDS);
    // The old policy (full jitter under 1 min … 2 h ceilings) gave up after minutes in this draw.
    expect(total).toBe(retryHorizonSeconds(policy));
  });

  test('bounded jitter: within ±10% of the step, never near zero', () => {
    const policy = defaultRetryPolicy();
    expect(decideRetry(1, policy, () => 0)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 5 });
    expect(decideRetry(1, policy, () => 0.5)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 5 });
    expect(decideRetry(2, policy, () => 0)).toMatchObject({ delaySeconds: 270 });
    expect(decideRetry(2, policy, () => 1)).toMatchObject({ delaySeconds: 330 });
    expect(decideRetry(5, policy, () => 0.5)).toMatchObject({ delaySeconds: 18_000 });
  });

  test('gives up after the last attempt', () => {
    const policy = defaultRetryPolicy(5);
    expect(decideRetry(4, policy, () => 0.5).action).toBe('retry');
    expect(decideRetry(5, policy, () => 0.5)).toEqual({ action: 'give-up' });
    expect(decideRetry(9, policy, () => 0.5)).toEqual({ action: 'give-up' });
  });

  test('Retry-After is a floor, capped by maxRetryAfterSeconds', () => {
    const policy = defaultRetryPolicy();
    expect(decideRetry(1, policy, () => 0.1, 120)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 120 });
    expect(decideRetry(4, policy, () => 0.5, 120)).toMatchObject({ delaySeconds: 7200 });
    expect(decideRetry(1, policy, () => 0, 10 * 24 * 3600)).toMatchObject({ delaySeconds: policy.maxRetryAfterSeconds });
  });

  test('a broken random source cannot produce a NaN delay', () => {
    expect(decideRetry(2, defaultRetryPolicy(), () => NaN)).toEqual({ action: 'retry', nextAttempt: 3, delaySeconds: 300 });
  });

  test('any random source and Retry-After give a delay within the queue limits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 19 }), fc.double({ noNaN: false }), fc.option(fc.integer({ min: -5, max: 10 ** 9 }), { nil: null }), (attempt, r, after) => {
        const policy = defaultRetryPolicy(20);
        const d = decideRetry(attempt, policy, () => r, after);
        if (d.action === 'retry') {
          expect(Number.isInteger(d.delaySeconds)).toBe(true);
          expect(d.delaySeconds).toBeGreaterThanOrEqual(1);
          expect(d.delaySeconds).toBeLessThan(MAX_VISIBILITY_SECONDS);
        }
      }),
    );
  });
});

describe('channel pause', () => {
  test('the third failure in a row pauses the channel for the step of the schedule it reached', () => {
    const policy = defaultRetryPolicy();
    expect(decideChannelFailure(1, policy, () => 0.5)).toEqual({ action: 'retry-message' });
    expect(decideChannelFailure(2, policy, () => 0.5)).toEqual({ action: 'retry-message' });
    expect(decideChannelFailure(3, policy, () => 0.5)).toEqual({ action: 'pause', delaySeconds: 1800 });
    expect(decideChannelFailure(7, policy, () => 0.5)).toEqual({ action: 'pause', delaySeconds: 36_000 });
    expect(decideChannelFailure(8, policy, () => 0.5)).toEqual({ action: 'give-up' });
  });

  test('a channel is paused for more than 24 hours in all before anything is given up', () => {
    const policy = defaultRetryPolicy();
    let paused = 0;
    for (let failures = 1; ; failures++) {
      const d = decideChannelFailure(failures, policy, () => 0);
      if (d.action === 'give-up') break;
      if (d.action === 'pause') paused += d.delaySeconds;
    }
    expect(paused).toBeGreaterThanOrEqual(MIN_RETRY_HORIZON_SECONDS);
  });
});

describe('parseRetryAfter', () => {
  test('delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 May 2024 12:02:00 GMT', now)).toBe(120);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
  });

  test('garbage is ignored', () => {
    for (const v of [null, undefined, '', '-5', '1.5', 'soon', '2024-05-01T12:02:00Z', '99999999999']) {
      expect(parseRetryAfter(v, now)).toBeNull();
    }
  });
});

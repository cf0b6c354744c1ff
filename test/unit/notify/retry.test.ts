import fc from 'fast-check';
import { MAX_VISIBILITY_SECONDS, backoffSchedule, decideRetry, defaultRetryPolicy, parseRetryAfter } from '../../../shared/notify/retry';

const now = new Date('2024-05-01T12:00:00.000Z');

describe('retry policy', () => {
  test('explicit schedule: exponential ceilings, capped, one per retry', () => {
    expect(backoffSchedule(6)).toEqual([60, 240, 960, 3840, 7200]);
    expect(defaultRetryPolicy(5).schedule).toEqual([60, 240, 960, 3840]);
    expect(defaultRetryPolicy(1).schedule).toEqual([]);
    expect(() => defaultRetryPolicy(0)).toThrow(RangeError);
  });

  test('full jitter: the delay is uniform in [1, ceiling] from the injected random', () => {
    const policy = defaultRetryPolicy(6);
    expect(decideRetry(1, policy, () => 0)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 1 });
    expect(decideRetry(1, policy, () => 0.5)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 30 });
    expect(decideRetry(1, policy, () => 0.999999)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 60 });
    expect(decideRetry(3, policy, () => 1)).toEqual({ action: 'retry', nextAttempt: 4, delaySeconds: 960 });
  });

  test('gives up after the last attempt', () => {
    const policy = defaultRetryPolicy(5);
    expect(decideRetry(4, policy, () => 0.5).action).toBe('retry');
    expect(decideRetry(5, policy, () => 0.5)).toEqual({ action: 'give-up' });
    expect(decideRetry(9, policy, () => 0.5)).toEqual({ action: 'give-up' });
  });

  test('Retry-After is a floor, capped by maxRetryAfterSeconds', () => {
    const policy = defaultRetryPolicy(6);
    expect(decideRetry(1, policy, () => 0.1, 120)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 120 });
    expect(decideRetry(4, policy, () => 1, 120)).toMatchObject({ delaySeconds: 3840 });
    expect(decideRetry(1, policy, () => 0, 10 * 24 * 3600)).toMatchObject({ delaySeconds: policy.maxRetryAfterSeconds });
  });

  test('a broken random source cannot produce a NaN delay', () => {
    expect(decideRetry(1, defaultRetryPolicy(6), () => NaN)).toEqual({ action: 'retry', nextAttempt: 2, delaySeconds: 60 });
  });

  test('any random source and Retry-After give a delay within the queue limits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 19 }), fc.double({ noNaN: false }), fc.option(fc.integer({ min: -5, max: 10 ** 9 }), { nil: null }), (attempt, r, after) => {
        const policy = defaultRetryPolicy(20);
        const d = decideRetry(attempt, policy, () => r, after);
        if (d.action === 'retry') {
          expect(Number.isInteger(d.delaySeconds)).toBe(true);
          expect(d.delaySeconds).toBeGreaterThanOrEqual(1);
          expect(d.delaySeconds).toBeLessThanOrEqual(MAX_VISIBILITY_SECONDS);
        }
      }),
    );
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

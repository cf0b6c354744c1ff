/** The per-tenant call budget as a pure policy: never more than the limit in any minute, seen from Defender. */
import fc from 'fast-check';
import { admitCall, EMPTY_QUOTA, holdQuota, peakCallsPerMinute, quotaPolicy, type QuotaState } from '../../../shared/tenants/quota';

const policy = quotaPolicy(45);

test('admits up to the limit, then says how long until the oldest call leaves the window (plus the margin)', () => {
  let state: QuotaState = EMPTY_QUOTA;
  for (let i = 0; i < 45; i++) {
    const admission = admitCall(state, 1_000 + i, policy);
    expect(admission.admitted).toBe(true);
    state = admission.state;
  }
  const refused = admitCall(state, 2_000, policy);
  expect(refused).toMatchObject({ admitted: false, reason: 'rate' });
  // The first call was at 1000: it leaves the window (60 s + 1 s margin) after 62 000.
  expect(refused.admitted ? 0 : refused.waitMs).toBe(1_000 + 61_000 - 2_000 + 1);
  const later = admitCall(state, 1_000 + 61_001, policy);
  expect(later.admitted).toBe(true);
});

test('a 429 holds every call of the tenant until the hold ends, and a shorter hold never shortens it', () => {
  let state = holdQuota(EMPTY_QUOTA, 0, 30_000, policy);
  state = holdQuota(state, 1_000, 5_000, policy);
  expect(admitCall(state, 10_000, policy)).toMatchObject({ admitted: false, reason: 'throttled', waitMs: 20_000 });
  expect(admitCall(state, 30_000, policy).admitted).toBe(true);
});

test('property: whatever the arrival pattern, no minute ever holds more admitted calls than the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 45 }), (gaps, limit) => {
      const p = quotaPolicy(limit);
      let state: QuotaState = EMPTY_QUOTA;
      let now = 0;
      const admitted: number[] = [];
      for (const gap of gaps) {
        now += gap;
        const admission = admitCall(state, now, p);
        state = admission.state;
        if (admission.admitted) admitted.push(now);
      }
      return peakCallsPerMinute(admitted) <= limit;
    }),
  );
});

test('peakCallsPerMinute counts the busiest window (t - 60 s, t]', () => {
  expect(peakCallsPerMinute([])).toBe(0);
  expect(peakCallsPerMinute([0, 59_999, 60_000])).toBe(2);
  expect(peakCallsPerMinute([0, 1, 2, 60_001])).toBe(3);
});

/**
 * Defender's advanced hunting quota is per tenant (45 calls a minute, plus CPU per period), so
 * the pacing must hold across every instance that works for a tenant. This is the policy, as a
 * pure function of the tenant's shared call log and the time; shared/tenants/quotaStore.ts keeps
 * that log in one ETag-guarded Table row per tenant and applies it.
 *
 * The log is a sliding window: a call may start at `now` only if fewer than `maxCallsPerMinute`
 * calls started in the window before it. The window is a minute plus a margin, because the times
 * come from several instances' clocks and Defender counts when the call arrives, not when we sent
 * it. A 429 puts the whole tenant on hold (`blockedUntil`) for every instance, not just the one
 * that was told.
 */

export const QUOTA_WINDOW_MS = 60_000;
/** Covers clock skew between instances and the time a call takes to reach Defender. */
export const DEFAULT_QUOTA_MARGIN_MS = 1_000;

export interface QuotaPolicy {
  maxCallsPerMinute: number;
  marginMs: number;
}

export interface QuotaState {
  /** Start times (epoch ms) of the calls still inside the window, oldest first. */
  calls: number[];
  /** Epoch ms until which Defender asked this tenant to stop (a 429), or null. */
  blockedUntil: number | null;
}

export type Admission =
  | { admitted: true; state: QuotaState }
  /** Not now: `waitMs` until a slot frees (or the hold ends); `state` is the pruned log. */
  | { admitted: false; waitMs: number; reason: 'rate' | 'throttled'; state: QuotaState };

export const EMPTY_QUOTA: QuotaState = { calls: [], blockedUntil: null };

export function quotaPolicy(maxCallsPerMinute: number, marginMs = DEFAULT_QUOTA_MARGIN_MS): QuotaPolicy {
  if (!Number.isInteger(maxCallsPerMinute) || maxCallsPerMinute < 1) throw new Error(`maxCallsPerMinute must be a positive integer, got ${maxCallsPerMinute}`);
  return { maxCallsPerMinute, marginMs };
}

/** Drops calls that left the window and a hold that has ended. */
export function pruneQuota(state: QuotaState, now: number, policy: QuotaPolicy): QuotaState {
  const horizon = now - (QUOTA_WINDOW_MS + policy.marginMs);
  const calls = state.calls.filter((at) => at > horizon && Number.isFinite(at)).sort((a, b) => a - b);
  const blockedUntil = state.blockedUntil !== null && state.blockedUntil > now ? state.blockedUntil : null;
  return { calls, blockedUntil };
}

/** Admits one call at `now` (and records it in the returned state), or says how long to wait. */
export function admitCall(state: QuotaState, now: number, policy: QuotaPolicy): Admission {
  const pruned = pruneQuota(state, now, policy);
  if (pruned.blockedUntil !== null) {
    return { admitted: false, waitMs: pruned.blockedUntil - now, reason: 'throttled', state: pruned };
  }
  if (pruned.calls.length >= policy.maxCallsPerMinute) {
    // The slot frees when the call `max` places back leaves the window.
    const oldest = pruned.calls[pruned.calls.length - policy.maxCallsPerMinute] ?? now;
    const waitMs = Math.max(1, oldest + QUOTA_WINDOW_MS + policy.marginMs - now + 1);
    return { admitted: false, waitMs, reason: 'rate', state: pruned };
  }
  return { admitted: true, state: { calls: [...pruned.calls, now], blockedUntil: null } };
}

/** Defender answered 429: hold every call of the tenant until `now + waitMs` (never shortens a hold). */
export function holdQuota(state: QuotaState, now: number, waitMs: number, policy: QuotaPolicy): QuotaState {
  const pruned = pruneQuota(state, now, policy);
  const until = now + Math.max(0, waitMs);
  return { calls: pruned.calls, blockedUntil: Math.max(until, pruned.blockedUntil ?? 0) || null };
}

/** Calls started in the minute before `now` (what `status` shows as the quota state). */
export function callsInLastMinute(state: QuotaState, now: number): number {
  return state.calls.filter((at) => at > now - QUOTA_WINDOW_MS && at <= now).length;
}

/** The largest number of calls in any window (t - 60 s, t]: what a checker on Defender's side sees. */
export function peakCallsPerMinute(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[first] ?? 0) <= (sorted[last] ?? 0) - QUOTA_WINDOW_MS) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

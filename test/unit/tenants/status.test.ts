/** A tenant's job status: backoff on its own after failures, back to every interval after one success; duplicates of a finished slot dropped; the lag line. */
import { afterJob, alreadyCompleted, backoffMs, emptyStatus, isDue, jobOutcomeOf, type FinishedJob } from '../../../shared/tenants/status';
import { formatLagTable, lagRowOf } from '../../../shared/tenants/lag';
import { EMPTY_QUOTA } from '../../../shared/tenants/quota';
import { makeTenant } from '../../support/tenants';

const T0 = Date.parse('2025-03-04T10:00:00Z');
const MIN = 60_000;

function job(minute: number, outcome: FinishedJob['outcome'], error: string | null = null): FinishedJob {
  const at = new Date(T0 + minute * MIN);
  return { jobId: `contoso@${at.toISOString()}`, slot: at.toISOString(), startedAt: at, finishedAt: new Date(at.getTime() + 5_000), outcome, error, problem: error ? 'admin-consent-missing' : null };
}

test('backoff doubles from 5 minutes up to an hour', () => {
  expect([0, 1, 2, 3, 4, 5, 9].map((n) => backoffMs(n) / MIN)).toEqual([0, 5, 10, 20, 40, 60, 60]);
});

test('a failing tenant is due less and less often; one success makes it due every interval again', () => {
  let status = emptyStatus('contoso');
  const due: number[] = [];
  for (let minute = 0; minute <= 120; minute += 10) {
    if (!isDue(status, new Date(T0 + minute * MIN))) continue;
    due.push(minute);
    status = afterJob(status, job(minute, minute < 100 ? 'failed' : 'succeeded', minute < 100 ? 'AADSTS700016' : null));
  }
  // Fails at 0, 10, 20 (the 3rd failure in a row: the health alert), 40 and 80; the 60 min
  // backoff after the 5th failure keeps it from 100 and 120.
  expect(due).toEqual([0, 10, 20, 40, 80]);
  expect(status).toMatchObject({ consecutiveFailures: 5, lastError: 'AADSTS700016', lastProblem: 'admin-consent-missing', lastSuccessAt: null });
  status = afterJob(status, job(140, 'succeeded'));
  expect(status).toMatchObject({ consecutiveFailures: 0, backoffUntil: null, lastError: null, lastProblem: null });
  expect(isDue(status, new Date(T0 + 150 * MIN))).toBe(true);
});

test('a skipped or paused job neither counts as a failure nor as a success', () => {
  const failed = afterJob(emptyStatus('c'), job(0, 'failed', 'x'));
  expect(afterJob(failed, job(10, 'skipped')).consecutiveFailures).toBe(1);
  expect(afterJob(failed, job(10, 'paused')).lastSuccessAt).toBeNull();
});

test('a slot that already ran to its end is a duplicate; a later slot is not', () => {
  const status = afterJob(emptyStatus('c'), job(10, 'succeeded'));
  expect(alreadyCompleted(status, job(10, 'succeeded').slot)).toBe(true);
  expect(alreadyCompleted(status, job(0, 'succeeded').slot)).toBe(true);
  expect(alreadyCompleted(status, job(20, 'succeeded').slot)).toBe(false);
  expect(alreadyCompleted(null, job(20, 'succeeded').slot)).toBe(false);
});

test('a job is as bad as its worst rule', () => {
  expect(jobOutcomeOf([])).toBe('succeeded');
  expect(jobOutcomeOf([{ outcome: 'succeeded' }, { outcome: 'throttled' }, { outcome: 'partial' }])).toBe('throttled');
  expect(jobOutcomeOf([{ outcome: 'skipped' }, { outcome: 'failed' }])).toBe('failed');
});

test('the lag line: the oldest rule checkpoint, never-hunted rules and quota; worst first in the table', () => {
  const now = new Date(T0 + 60 * MIN);
  const checkpoint = (ruleId: string, minute: number | null, unhealthy = '') => ({
    tenantId: 'x',
    ruleId,
    checkpoint: minute === null ? null : new Date(T0 + minute * MIN),
    consecutiveFailures: 0,
    unhealthy,
    unhealthySince: null,
    origin: null,
  });
  const behind = lagRowOf({
    tenant: makeTenant('contoso'),
    checkpoints: [checkpoint('a', 50), checkpoint('b', 20, 'failures')],
    status: afterJob(emptyStatus('contoso'), job(55, 'succeeded')),
    quota: { calls: [T0 + 59.5 * MIN, T0 + 30 * MIN], blockedUntil: null },
    limit: 45,
    now,
  });
  expect(behind).toMatchObject({ state: 'unhealthy', lagMs: 40 * MIN, unhealthy: ['b:failures'], quota: { callsLastMinute: 1, limit: 45 } });
  const fresh = lagRowOf({ tenant: makeTenant('fabrikam'), checkpoints: [checkpoint('a', 59)], status: null, quota: EMPTY_QUOTA, limit: 45, now });
  const never = lagRowOf({ tenant: makeTenant('new', { paused: { reason: 'onboarding', by: 'x', at: '' } }), checkpoints: [checkpoint('a', null)], status: null, quota: EMPTY_QUOTA, limit: 45, now });
  expect(never).toMatchObject({ state: 'paused', lagMs: null, lastError: 'paused: onboarding' });
  const lines = formatLagTable([fresh, behind, never], now).split('\n');
  expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['tenant', 'new', 'contoso', 'fabrikam']);
  expect(lines[2]).toMatch(/40 min/);
});

/** Retention settings and the closed-incident rule (pure). */
import { ConfigError, loadSettings } from '../../../shared/config/settings';
import { DEFAULT_RETENTION, retentionProblems } from '../../../shared/retention/policy';
import { isClosedIncident } from '../../../shared/retention/purge';

const env = { Storage: 'UseDevelopmentStorage=true' };

test('defaults: audit rows are kept longest, incidents longer than a backfill reaches', () => {
  expect(loadSettings(env).retention).toEqual(DEFAULT_RETENTION);
  expect(retentionProblems(DEFAULT_RETENTION)).toEqual([]);
  expect(DEFAULT_RETENTION.auditDays).toBeGreaterThan(Math.max(DEFAULT_RETENTION.incidentDays, DEFAULT_RETENTION.deliveryDays, DEFAULT_RETENTION.runDays, DEFAULT_RETENTION.recentStepDays));
});

test('a retention that would lose audit history first, or re-announce after a backfill, is refused, naming the setting', () => {
  expect(() => loadSettings({ ...env, RETENTION_AUDIT_DAYS: '60' })).toThrow(/RETENTION_AUDIT_DAYS must be the longest retention \(at least 90 days\)/);
  expect(() => loadSettings({ ...env, RETENTION_INCIDENT_DAYS: '20' })).toThrow(/RETENTION_INCIDENT_DAYS must be at least 35/);
  expect(() => loadSettings({ ...env, RETENTION_DELIVERY_DAYS: '1' })).toThrow(ConfigError);
  expect(loadSettings({ ...env, RETENTION_RUN_DAYS: '7', RETENTION_AUDIT_DAYS: '3650' }).retention).toMatchObject({ runDays: 7, auditDays: 3650 });
});

test('an incident is closed only when nothing waits to be announced and nothing happened since the cut-off', () => {
  const before = '2025-06-01T00:00:00.000Z';
  const closed = { pendingSince: '', announcing: false, escalationPending: false, mergedInto: '', updatedAt: '2025-05-01T00:00:00.000Z', lastSeen: '2025-04-01T00:00:00.000Z' };
  expect(isClosedIncident(closed, before)).toBe(true);
  expect(isClosedIncident({ ...closed, pendingSince: '2025-04-02T00:00:00.000Z' }, before)).toBe(false);
  expect(isClosedIncident({ ...closed, announcing: true }, before)).toBe(false);
  expect(isClosedIncident({ ...closed, escalationPending: true }, before)).toBe(false);
  expect(isClosedIncident({ ...closed, updatedAt: '2025-06-02T00:00:00.000Z' }, before)).toBe(false);
  expect(isClosedIncident({ ...closed, lastSeen: '2025-06-02T00:00:00.000Z' }, before)).toBe(false);
  // An alias row (merged into a chain incident) has no findings of its own: its last change decides.
  expect(isClosedIncident({ ...closed, mergedInto: 'chain', lastSeen: '' }, before)).toBe(true);
  expect(isClosedIncident({ ...closed, updatedAt: '' }, before)).toBe(false);
});

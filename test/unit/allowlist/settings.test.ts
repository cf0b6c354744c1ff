/** Allowlist settings parsing and the default (log) change notifier. */
import { createLogChangeNotifier } from '../../../shared/allowlist/notifier';
import { allowlistSettingsFromEnv, AllowlistSettingsError } from '../../../shared/allowlist/settings';
import { makeEntry } from './helpers';

describe('allowlistSettingsFromEnv', () => {
  test('defaults; no dev principal unless named', () => {
    expect(allowlistSettingsFromEnv({})).toEqual({ connectionString: undefined, table: 'allowlist', auditTable: 'allowlistaudit', maxLifetimeDays: 90, devPrincipal: null });
  });

  test('reads every setting; STORAGE_CONNECTION wins over AzureWebJobsStorage', () => {
    expect(
      allowlistSettingsFromEnv({
        STORAGE_CONNECTION: 'a',
        AzureWebJobsStorage: 'b',
        ALLOWLIST_TABLE: 'allow2',
        ALLOWLIST_AUDIT_TABLE: 'audit2',
        ALLOWLIST_MAX_LIFETIME_DAYS: '30',
        ALLOWLIST_DEV_PRINCIPAL: 'me',
      }),
    ).toEqual({ connectionString: 'a', table: 'allow2', auditTable: 'audit2', maxLifetimeDays: 30, devPrincipal: 'me' });
    expect(allowlistSettingsFromEnv({ AzureWebJobsStorage: 'b' }).connectionString).toBe('b');
  });

  test('reports every bad setting together', () => {
    expect(() => allowlistSettingsFromEnv({ ALLOWLIST_TABLE: 'a-b', ALLOWLIST_AUDIT_TABLE: 'x', ALLOWLIST_MAX_LIFETIME_DAYS: '0' })).toThrow(AllowlistSettingsError);
    expect(() => allowlistSettingsFromEnv({ ALLOWLIST_TABLE: 'a-b', ALLOWLIST_MAX_LIFETIME_DAYS: '1.5' })).toThrow(/ALLOWLIST_TABLE.*ALLOWLIST_MAX_LIFETIME_DAYS/);
    expect(() => allowlistSettingsFromEnv({ ALLOWLIST_TABLE: 'same', ALLOWLIST_AUDIT_TABLE: 'SAME' })).toThrow(/must differ/);
  });
});

test('the log notifier writes one marked, structured warning per change', async () => {
  const lines: unknown[][] = [];
  const notifier = createLogChangeNotifier({ warn: (...args) => lines.push(args) });
  const after = makeEntry({ id: 'e1' });
  await notifier.announce({ action: 'create', entryId: 'e1', before: null, after, actor: 'alice', reason: 'why', at: '2025-03-01T00:00:00.000Z' });
  expect(lines).toHaveLength(1);
  const text = String(lines[0]![0]);
  expect(text.startsWith('[ALLOWLIST_CHANGE] create e1 by alice: ')).toBe(true);
  const record = JSON.parse(text.slice(text.indexOf(': ') + 2)) as Record<string, unknown>;
  expect(record).toMatchObject({ marker: 'ALLOWLIST_CHANGE', action: 'create', entryId: 'e1', actor: 'alice', reason: 'why', before: null });
});

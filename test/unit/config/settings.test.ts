import { ConfigError, describeSettings, loadSettings } from '../../../shared/config/settings';

const base = { Storage: 'UseDevelopmentStorage=true' };

test('defaults are complete and safe', () => {
  const s = loadSettings(base);
  expect(s.graph.baseUrl).toBe('https://graph.microsoft.com');
  expect(s.graph.auth).toBe('managed-identity');
  expect(s.hunt.schedule).toBe('0 */10 * * * *');
  expect(s.hunt.maxCallsPerMinute).toBe(45);
  expect(s.hunt.ingestionDelayMs).toBeNull(); // the rule's own
  expect(s.ruleIds).toEqual(['t1587-002']);
  expect(s.tables).toMatchObject({ checkpoints: 'checkpoints', incidents: 'incidents', allowlist: 'allowlist', allowlistAudit: 'allowlistaudit', deliveries: 'deliveries' });
});

test('every problem is reported at once', () => {
  let error: unknown;
  try {
    loadSettings({ GRAPH_AUTH: 'none', GRAPH_BASE_URL: 'https://graph.microsoft.com', HUNT_MAX_CALLS_PER_MINUTE: '90', CHECKPOINTS_TABLE: 'bad-name', TENANT_ID: 'a/b' });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems.join('\n');
  expect(problems).toMatch(/GRAPH_AUTH=none is allowed only when GRAPH_BASE_URL points at a loopback/);
  expect(problems).toMatch(/HUNT_MAX_CALLS_PER_MINUTE/);
  expect(problems).toMatch(/CHECKPOINTS_TABLE/);
  expect(problems).toMatch(/TENANT_ID/);
  expect(problems).toMatch(/Storage is not set/);
});

test('authentication can be switched off only for a loopback Graph', () => {
  expect(loadSettings({ ...base, GRAPH_AUTH: 'none', GRAPH_BASE_URL: 'http://127.0.0.1:7071' }).graph.auth).toBe('none');
  expect(loadSettings({ ...base, GRAPH_AUTH: 'none', GRAPH_BASE_URL: 'http://[::1]:8080' }).graph.auth).toBe('none');
  expect(() => loadSettings({ ...base, GRAPH_AUTH: 'none', GRAPH_BASE_URL: 'https://graph.microsoft.us' })).toThrow(ConfigError);
  expect(() => loadSettings({ ...base, GRAPH_BASE_URL: 'http://graph.example.com' })).toThrow(/https/);
});

test('national clouds and client-secret authentication', () => {
  const s = loadSettings({ ...base, GRAPH_BASE_URL: 'https://dod-graph.microsoft.us/', GRAPH_AUTH: 'client-secret', GRAPH_TENANT_ID: 't', GRAPH_CLIENT_ID: 'c', GRAPH_CLIENT_SECRET: 'shh' });
  expect(s.graph.baseUrl).toBe('https://dod-graph.microsoft.us');
  expect(() => loadSettings({ ...base, GRAPH_AUTH: 'client-secret' })).toThrow(/GRAPH_CLIENT_SECRET/);
});

test('identity-based storage needs both service URIs', () => {
  const s = loadSettings({
    Storage__tableServiceUri: 'https://acct.table.core.windows.net',
    Storage__queueServiceUri: 'https://acct.queue.core.windows.net',
    Storage__clientId: 'abc',
  });
  expect(s.storage).toEqual({ kind: 'identity', tableServiceUri: 'https://acct.table.core.windows.net', queueServiceUri: 'https://acct.queue.core.windows.net', clientId: 'abc' });
  expect(() => loadSettings({ Storage__tableServiceUri: 'https://acct.table.core.windows.net' })).toThrow(/set together/);
});

test('describeSettings never contains secrets', () => {
  const secret = 'super-secret-value';
  const hook = 'https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SIGNATURE';
  const s = loadSettings({
    Storage: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${secret};`,
    GRAPH_AUTH: 'client-secret',
    GRAPH_TENANT_ID: 't',
    GRAPH_CLIENT_ID: 'c',
    GRAPH_CLIENT_SECRET: secret,
    NOTIFY_CHANNELS: JSON.stringify([{ id: 'teams', type: 'teams', url: hook, minSeverity: 'medium' }]),
  });
  const text = JSON.stringify(describeSettings(s));
  expect(text).not.toContain(secret);
  expect(text).not.toContain('SIGNATURE');
  expect(text).toContain('(set)');
});

test('ALLOWLIST_SIGN_IN_PATH is a same-origin path only (the page redirects browsers there)', () => {
  expect(loadSettings(base).allowlist.signInPath).toBeNull();
  expect(loadSettings({ ...base, ALLOWLIST_SIGN_IN_PATH: '/.auth/login/aad' }).allowlist.signInPath).toBe('/.auth/login/aad');
  for (const bad of ['//evil.example/login', '/\\evil.example', 'https://evil.example/login', '.auth/login/aad', '/login?next=x']) {
    expect(() => loadSettings({ ...base, ALLOWLIST_SIGN_IN_PATH: bad })).toThrow(/ALLOWLIST_SIGN_IN_PATH/);
  }
});

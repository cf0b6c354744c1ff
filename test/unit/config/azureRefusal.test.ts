/**
 * Switches meant for tests, the demo and local development open doors (a principal with both
 * allowlist roles without authentication, http and loopback receivers, a folder channel, Graph
 * without a token, the storage emulator). In Azure the app refuses to start with any of them on,
 * through the one settings module, naming the setting and the platform variable that gave Azure
 * away (issue #15 item 12).
 */
import { SETTINGS_REFERENCE } from '../../../shared/config/reference';
import { AZURE_PLATFORM_VARIABLES, ConfigError, LOCAL_ONLY_SETTINGS, loadSettings } from '../../../shared/config/settings';

/** A valid configuration as the Bicep sets it in Azure. */
const AZURE = {
  WEBSITE_INSTANCE_ID: '8f3c0a5e2b1d',
  WEBSITE_SITE_NAME: 'func-codesign-abc',
  Storage__tableServiceUri: 'https://stabc.table.core.windows.net',
  Storage__queueServiceUri: 'https://stabc.queue.core.windows.net',
  Storage__credential: 'managedidentity',
  Storage__clientId: '00000000-0000-0000-0000-000000000001',
  GRAPH_AUTH: 'managed-identity',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadSettings(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test('a valid Azure configuration loads', () => {
  expect(problemsOf(AZURE)).toEqual([]);
});

test.each([
  ['ALLOWLIST_DEV_PRINCIPAL', 'dev@contoso.com'],
  ['DELIVERY_ALLOW_LOOPBACK', 'true'],
  ['NOTIFY_ALLOW_FOLDER', 'true'],
  ['GRAPH_AUTH', 'none'],
  ['Storage', 'UseDevelopmentStorage=true'],
  ['AzureWebJobsStorage', 'UseDevelopmentStorage=true'],
])('%s=%s is refused in Azure, with a message naming it', (name, value) => {
  const env: Record<string, string> = { ...AZURE, [name]: value };
  if (name === 'GRAPH_AUTH') env.GRAPH_BASE_URL = 'http://127.0.0.1:7071';
  if (name === 'Storage' || name === 'AzureWebJobsStorage') {
    delete env.Storage__tableServiceUri;
    delete env.Storage__queueServiceUri;
  }
  const problems = problemsOf(env);
  expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${name} .*refused when the app runs in Azure \\(WEBSITE_INSTANCE_ID is set\\)`))]));
  // The same settings outside Azure are accepted (the tests and the demo rely on them).
  const local = { ...env };
  delete local.WEBSITE_INSTANCE_ID;
  delete local.WEBSITE_SITE_NAME;
  expect(problemsOf(local)).toEqual([]);
});

test('a loopback Graph endpoint is refused in Azure', () => {
  expect(problemsOf({ ...AZURE, GRAPH_BASE_URL: 'http://localhost:7071' })).toEqual([expect.stringMatching(/^GRAPH_BASE_URL .*refused when the app runs in Azure/)]);
});

test('switches that are off are accepted in Azure', () => {
  expect(problemsOf({ ...AZURE, DELIVERY_ALLOW_LOOPBACK: 'false', NOTIFY_ALLOW_FOLDER: 'false', ALLOWLIST_DEV_PRINCIPAL: '' })).toEqual([]);
});

test.each(AZURE_PLATFORM_VARIABLES.map((v) => [v]))('%s alone marks the app as running in Azure', (variable) => {
  const env = { ...AZURE, NOTIFY_ALLOW_FOLDER: 'true' } as Record<string, string>;
  delete env.WEBSITE_INSTANCE_ID;
  delete env.WEBSITE_SITE_NAME;
  env[variable] = 'x';
  expect(problemsOf(env)).toEqual([expect.stringContaining(`refused when the app runs in Azure (${variable} is set)`)]);
});

test('all problems are reported together', () => {
  expect(problemsOf({ ...AZURE, ALLOWLIST_DEV_PRINCIPAL: 'dev', DELIVERY_ALLOW_LOOPBACK: 'true', NOTIFY_ALLOW_FOLDER: 'true' })).toHaveLength(3);
});

test('every test, demo or local-development switch of the reference is refused in Azure', () => {
  const localOnly = SETTINGS_REFERENCE.filter((s) => /^(Tests|Demo|Local development) only/.test(s.description)).map((s) => s.name);
  expect(localOnly).toEqual(expect.arrayContaining(['ALLOWLIST_DEV_PRINCIPAL', 'DELIVERY_ALLOW_LOOPBACK', 'NOTIFY_ALLOW_FOLDER']));
  const refused = LOCAL_ONLY_SETTINGS.map((s) => s.name);
  expect(localOnly.filter((n) => !refused.includes(n))).toEqual([]);
  for (const name of refused) expect(SETTINGS_REFERENCE.find((s) => s.name === name)?.description).toMatch(/refused in Azure/);
});

/**
 * One list of settings, four places that must agree with it: SETTINGS_REFERENCE
 * (shared/config/reference.ts) against
 *   (a) the names shared/config/settings.ts actually reads,
 *   (b) local.settings.sample.json,
 *   (c) the app settings of infra/app/function.bicep (and the tables and queue it creates),
 *   (d) docs/settings.md, which documents every setting (linked from README.md).
 *
 * Rules encoded here:
 *   - local.settings.sample.json lists every setting whose `azure` is not 'never', plus the local
 *     connections Storage and AzureWebJobsStorage (UseDevelopmentStorage=true) and the host's
 *     FUNCTIONS_WORKER_RUNTIME=node. It may list other 'never' settings (ALLOWLIST_DEV_PRINCIPAL,
 *     left empty) but never a test- or demo-only switch, and nothing outside the reference. Its
 *     values form a valid configuration, and channel URLs in it are placeholders.
 *   - The Bicep sets exactly the 'bicep' and 'secret' settings ('secret' ones as Key Vault
 *     references) plus an explicit list of platform settings, and none of the settings the Flex
 *     Consumption plan does not use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SETTINGS_REFERENCE } from '../../../shared/config/reference';
import { loadSettings } from '../../../shared/config/settings';
import { parseChannels } from '../../../shared/notify/channels';

const root = path.resolve(__dirname, '../../..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const referenceNames = SETTINGS_REFERENCE.map((s) => s.name);
const byAzure = (...kinds: string[]) => SETTINGS_REFERENCE.filter((s) => kinds.includes(s.azure)).map((s) => s.name).sort();

/** Settings Azure Functions needs that are not the app's own (not in SETTINGS_REFERENCE). */
const PLATFORM_SETTINGS = [
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AzureWebJobsStorage__blobServiceUri',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Set by the platform on Flex Consumption, or replaced by functionAppConfig: never in the Bicep. */
const NOT_ON_FLEX = [
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
  'AzureWebJobsStorage',
];

test('the reference has no duplicate names', () => {
  expect(new Set(referenceNames).size).toBe(referenceNames.length);
});

test('(a) every setting the config module reads is in SETTINGS_REFERENCE, and vice versa', () => {
  const source = read('shared/config/settings.ts');
  const readers = /\br\s*\.\s*(?:raw|string|number|minutes|optional|oneOf|tableName|queueName|httpsUrl)\(\s*'([^']+)'/g;
  const read_ = [...new Set([...source.matchAll(readers)].map((m) => m[1]!))].sort();
  expect(read_.length).toBeGreaterThan(30);
  // Nothing reaches process.env around the reader (loadSettings takes the environment as a map).
  expect(source).not.toMatch(/env\[\s*['"`]|env\.[A-Za-z_]/);
  expect({ readButNotInReference: read_.filter((n) => !referenceNames.includes(n)), inReferenceButNotRead: referenceNames.filter((n) => !read_.includes(n)) }).toEqual({
    readButNotInReference: [],
    inReferenceButNotRead: [],
  });
});

describe('(b) local.settings.sample.json', () => {
  const sample = JSON.parse(read('local.settings.sample.json')) as { IsEncrypted: boolean; Values: Record<string, string> };
  const keys = Object.keys(sample.Values);

  test('lists every setting not marked never, the local connections and the worker runtime', () => {
    expect(sample.IsEncrypted).toBe(false);
    const required = [...byAzure('bicep', 'secret', 'optional'), 'Storage', 'AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME'];
    expect(required.filter((n) => !keys.includes(n))).toEqual([]);
    expect(keys.filter((k) => !referenceNames.includes(k) && k !== 'FUNCTIONS_WORKER_RUNTIME')).toEqual([]);
    const testOrDemoOnly = SETTINGS_REFERENCE.filter((s) => s.azure === 'never' && /^(Tests|Demo) only/.test(s.description)).map((s) => s.name);
    expect(testOrDemoOnly.length).toBeGreaterThan(0);
    expect(keys.filter((k) => testOrDemoOnly.includes(k))).toEqual([]);
    expect(Object.values(sample.Values).every((v) => typeof v === 'string')).toBe(true);
  });

  test('runs locally against Azurite with the node worker', () => {
    expect(sample.Values).toMatchObject({
      Storage: 'UseDevelopmentStorage=true',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      FUNCTIONS_WORKER_RUNTIME: 'node',
    });
    const schedule = SETTINGS_REFERENCE.find((s) => s.name === 'HUNT_SCHEDULE')!;
    expect(sample.Values.HUNT_SCHEDULE).toBe(schedule.default);
  });

  test('is a valid configuration whose channel URLs are placeholders', () => {
    const settings = loadSettings(sample.Values);
    expect(settings.storage.kind).toBe('connection-string');
    const channels = parseChannels(settings.delivery.channelsJson);
    expect(channels.length).toBeGreaterThan(0);
    for (const channel of channels) {
      if (channel.type === 'folder') continue;
      expect(new URL(channel.url).hostname).toMatch(/(^|\.)(example|invalid)$|\.example\.(com|org|net)$/);
    }
  });
});

describe('(c) infra/app/function.bicep', () => {
  const bicep = read('infra/app/function.bicep');
  const block = /\/\/ app-settings:begin\n([\s\S]*?)\/\/ app-settings:end/.exec(bicep)?.[1];
  const entries = new Map(
    [...(block ?? '').matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const),
  );

  test('sets every bicep and secret setting, nothing else but the platform settings', () => {
    expect(block).toBeDefined();
    const names = [...entries.keys()].sort();
    expect(new Set(names).size).toBe(names.length);
    const expected = [...byAzure('bicep', 'secret'), ...PLATFORM_SETTINGS].sort();
    expect({ missing: expected.filter((n) => !names.includes(n)), unexpected: names.filter((n) => !expected.includes(n)) }).toEqual({
      missing: [],
      unexpected: [],
    });
    expect(names.filter((n) => NOT_ON_FLEX.includes(n))).toEqual([]);
  });

  test('secret settings are Key Vault references; identity settings use the managed identity', () => {
    for (const name of byAzure('secret')) expect({ name, value: entries.get(name) }).toEqual({ name, value: expect.stringMatching(/^'@Microsoft\.KeyVault\(SecretUri=/) });
    expect(entries.get('Storage__credential')).toBe("'managedidentity'");
    expect(entries.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(entries.get('GRAPH_AUTH')).toBe("'managed-identity'");
    for (const name of ['Storage__clientId', 'AzureWebJobsStorage__clientId', 'GRAPH_CLIENT_ID']) expect(entries.get(name)).toBe('identityClientId');
    expect(entries.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'ClientId=${identityClientId};Authorization=AAD'");
    expect(bicep).toContain('keyVaultReferenceIdentity: identityId');
  });

  test('the Bicep defaults, tables and queues match the reference defaults', () => {
    const main = read('infra/main.bicep');
    const def = (name: string) => SETTINGS_REFERENCE.find((s) => s.name === name)!.default;
    expect(main).toContain(`param huntSchedule string = '${def('HUNT_SCHEDULE')}'`);
    expect(main).toContain(`param huntRules string = '${def('HUNT_RULES')}'`);
    expect(main).toContain(`param tenantName string = '${def('TENANT_ID')}'`);
    expect(main).toContain(`param graphBaseUrl string = '${def('GRAPH_BASE_URL')}'`);
    expect(main).toContain(`param notificationQueue string = '${def('NOTIFICATION_QUEUE')}'`);
    expect(main).toContain(`param huntJobsQueue string = '${def('HUNT_JOBS_QUEUE')}'`);
    const storage = read('infra/app/storage.bicep');
    const tables = /var tableNames = \[([\s\S]*?)\]/.exec(storage)?.[1] ?? '';
    const created = [...tables.matchAll(/'([A-Za-z0-9]+)'/g)].map((m) => m[1]!).sort();
    const defaults = SETTINGS_REFERENCE.filter((s) => s.name.endsWith('_TABLE')).map((s) => s.default).sort();
    expect(created).toEqual(defaults);
    expect(storage).toMatch(/var queueNames = \[\s*notificationQueue\s*'\$\{notificationQueue\}-poison'\s*huntJobsQueue\s*'\$\{huntJobsQueue\}-poison'\s*\]/);
  });
});

test('(d) docs/settings.md documents every setting, and the README links to it', () => {
  const readmePath = path.join(root, 'docs', 'settings.md');
  // Deliberately a failure, not a skip: the settings table is part of the deliverable.
  expect({ readme: fs.existsSync(readmePath) ? 'present' : 'docs/settings.md is missing' }).toEqual({ readme: 'present' });
  expect(read('README.md')).toContain('(docs/settings.md)');
  const readme = fs.readFileSync(readmePath, 'utf8');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const documented = (name: string) => new RegExp(`\`${escape(name)}\`|\\|\\s*${escape(name)}\\s*\\|`).test(readme);
  expect(referenceNames.filter((n) => !documented(n))).toEqual([]);
});

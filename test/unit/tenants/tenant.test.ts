/** Tenant registry entries: what may be written into one, every problem named by its field. */
import { applyTenantPatch, validateTenantInput, type Tenant } from '../../../shared/tenants/tenant';
import { makeTenant } from '../../support/tenants';

const GUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

function errorsOf(result: ReturnType<typeof validateTenantInput>): string[] {
  return result.ok ? [] : result.errors.map((e) => e.field);
}

test('a minimal tenant gets the defaults: global Graph, HUNT_RULES, no channels, the provider certificate', () => {
  const result = validateTenantInput({ key: 'contoso', entraTenantId: GUID });
  expect(result).toEqual({
    ok: true,
    value: {
      key: 'contoso',
      entraTenantId: GUID,
      displayName: 'contoso',
      graphBaseUrl: 'https://graph.microsoft.com',
      ruleIds: null,
      channelIds: [],
      credential: { kind: 'certificate' },
      overrides: {},
    },
  });
});

test('a verified domain is accepted as the Entra tenant', () => {
  expect(validateTenantInput({ key: 'fabrikam', entraTenantId: 'fabrikam.onmicrosoft.com' }).ok).toBe(true);
});

test('every bad field is reported at once', () => {
  const result = validateTenantInput({
    key: 'Contoso Ltd',
    entraTenantId: 'not a tenant',
    graphBaseUrl: 'https://evil.example.com',
    ruleIds: ['T1587 002'],
    channelIds: ['teams/soc'],
    credential: { kind: 'secret', setting: 'lower-case' },
    overrides: { Storage: 'UseDevelopmentStorage=true', HUNT_MAX_CALLS_PER_MINUTE: '30' },
  });
  expect(errorsOf(result).sort()).toEqual(
    ['channelIds', 'credential.setting', 'entraTenantId', 'graphBaseUrl', 'key', 'overrides.Storage', 'ruleIds'].sort(),
  );
});

test('national clouds and a loopback test server are accepted; plain http elsewhere is not', () => {
  expect(validateTenantInput({ key: 'gov', entraTenantId: GUID, graphBaseUrl: 'https://graph.microsoft.us/' })).toMatchObject({
    ok: true,
    value: { graphBaseUrl: 'https://graph.microsoft.us' },
  });
  expect(validateTenantInput({ key: 'lab', entraTenantId: GUID, graphBaseUrl: 'http://127.0.0.1:8080' }).ok).toBe(true);
  expect(errorsOf(validateTenantInput({ key: 'x', entraTenantId: GUID, graphBaseUrl: 'http://graph.microsoft.com' }))).toEqual(['graphBaseUrl']);
});

test('control and invisible characters never reach a display name', () => {
  expect(errorsOf(validateTenantInput({ key: 'x', entraTenantId: GUID, displayName: 'Contoso\u202e' }))).toEqual(['displayName']);
});

test('an empty rule list is refused (unset means HUNT_RULES); duplicates collapse', () => {
  expect(errorsOf(validateTenantInput({ key: 'x', entraTenantId: GUID, ruleIds: [] }))).toEqual(['ruleIds']);
  expect(validateTenantInput({ key: 'x', entraTenantId: GUID, ruleIds: ['t1587-002', 't1587-002'], channelIds: ['a', 'a'] })).toMatchObject({
    ok: true,
    value: { ruleIds: ['t1587-002'], channelIds: ['a'] },
  });
});

test('a patch changes only what it names; an empty override value removes the override', () => {
  const tenant: Tenant = makeTenant('contoso', {
    entraTenantId: GUID,
    displayName: 'Contoso',
    channelIds: ['contoso-teams'],
    overrides: { HUNT_MAX_CALLS_PER_MINUTE: '30', HEALTH_MAX_LAG_MINUTES: '60' },
  });
  const result = applyTenantPatch(tenant, { channelIds: ['contoso-teams', 'soc'], overrides: { HUNT_MAX_CALLS_PER_MINUTE: '' } });
  expect(result).toMatchObject({ ok: true, value: { displayName: 'Contoso', channelIds: ['contoso-teams', 'soc'], overrides: { HEALTH_MAX_LAG_MINUTES: '60' } } });
  expect(applyTenantPatch(tenant, { entraTenantId: 'nope' }).ok).toBe(false);
});

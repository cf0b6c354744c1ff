/** Who hears an allowlist change: the pure rule behind shared/app/notifications.ts createTenantChangeNotifier. */
import { parseChannels } from '../../../shared/notify/channels';
import { changeAudience, changeTenants, type RegistryChannels } from '../../../shared/tenants/changeAudience';

const all = parseChannels(
  JSON.stringify(['soc', 'a-teams', 'b-teams', 'shared'].map((id) => ({ id, type: 'teams', url: `https://prod-00.westeurope.logic.azure.com/workflows/${id}`, minSeverity: 'low' }))),
);
const registry: RegistryChannels = {
  kind: 'registry',
  byTenant: new Map<string, string[] | null>([
    ['a', ['a-teams', 'shared']],
    ['b', ['b-teams', 'shared']],
  ]),
};
const ids = (channels: { id: string }[]) => channels.map((c) => c.id);

test('the tenants of a change: before and after, lower-case, once', () => {
  expect(changeTenants(['global', undefined])).toEqual([]);
  expect(changeTenants([{ tenantId: 'A' }, { tenantId: 'a' }])).toEqual(['a']);
  expect(changeTenants([{ tenantId: 'a' }, { tenantId: 'b' }])).toEqual(['a', 'b']);
});

test("registry mode: a tenant's change reaches its channels and the deployment's, a global one the deployment's only", () => {
  expect(ids(changeAudience(['a'], all, registry).channels)).toEqual(['soc', 'a-teams', 'shared']);
  expect(ids(changeAudience(['b'], all, registry).channels)).toEqual(['soc', 'b-teams', 'shared']);
  expect(ids(changeAudience(['a', 'b'], all, registry).channels)).toEqual(['soc', 'a-teams', 'b-teams', 'shared']);
  expect(ids(changeAudience([], all, registry).channels)).toEqual(['soc']);
  // A scope key that is not a registry tenant has nobody of its own: the deployment hears it, no alert.
  expect(changeAudience(['ghost'], all, registry)).toMatchObject({ missed: [] });
  expect(ids(changeAudience(['ghost'], all, registry).channels)).toEqual(['soc']);
});

test('single mode: every channel, whatever the scope', () => {
  expect(ids(changeAudience(['a'], all, { kind: 'single' }).channels)).toEqual(['soc', 'a-teams', 'b-teams', 'shared']);
});

test('a tenant naming an undefined channel, or whose row cannot be read, is reported missed', () => {
  const odd: RegistryChannels = { kind: 'registry', byTenant: new Map([['a', ['a-teams', 'gone']], ['b', null]]) };
  const a = changeAudience(['a'], all, odd);
  // a-teams is told; b's channel ids are unknown, so b-teams counts as the deployment's (see docs/tenants.md).
  expect(ids(a.channels)).toEqual(['soc', 'a-teams', 'b-teams', 'shared']);
  expect(a.missed).toEqual([{ tenantId: 'a', problem: expect.stringContaining('gone') }]);
  expect(changeAudience(['b'], all, odd).missed).toEqual([{ tenantId: 'b', problem: 'its registry row cannot be read' }]);
});

test('registry unreadable: the last known deployment channels, or none; every tenant of the change missed', () => {
  const stale = changeAudience(['a'], all, registry, 'the tenant registry cannot be read: 403');
  expect(ids(stale.channels)).toEqual(['soc']);
  expect(stale.missed).toEqual([{ tenantId: 'a', problem: 'the tenant registry cannot be read: 403' }]);
  const cold = changeAudience(['a'], all, null, 'the tenant registry cannot be read: 403');
  expect(cold).toEqual({ channels: [], deployment: [], missed: [{ tenantId: 'a', problem: 'the tenant registry cannot be read: 403' }] });
  expect(changeAudience([], all, null, 'x').missed).toEqual([]);
});

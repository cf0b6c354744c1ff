/**
 * Which tenants this deployment hunts, and with what. With no rows in the tenant registry the
 * settings describe the one tenant, exactly as before the registry existed (TENANT_ID, GRAPH_*,
 * HUNT_RULES, every channel): the zero-configuration default. As soon as the registry holds a
 * tenant, the registry is the list, and each tenant hunts with the deployment's settings plus its
 * own overrides, its own cloud, rules and channels.
 */
import { ConfigError, loadSettings, type Settings } from '../config/settings';
import type { Channel } from '../notify/channels';
import type { TenantStore, UnreadableTenant } from './store';
import type { FieldError, Tenant, TenantFields } from './tenant';

export type TenantMode =
  | { kind: 'single'; tenant: Tenant }
  /** Registry mode; `unreadable` rows are reported (health), never hunted half-configured. */
  | { kind: 'registry'; tenants: Tenant[]; unreadable: UnreadableTenant[] };

/** The one tenant the settings describe. */
export function settingsTenant(settings: Settings): Tenant {
  return {
    key: settings.tenantId,
    entraTenantId: settings.graph.azureTenantId ?? '',
    displayName: settings.tenantId,
    graphBaseUrl: settings.graph.baseUrl,
    ruleIds: settings.ruleIds,
    channelIds: [],
    credential: { kind: 'certificate' },
    overrides: {},
    paused: null,
    createdAt: '',
    createdBy: 'settings',
    updatedAt: '',
    updatedBy: 'settings',
    etag: null,
  };
}

export async function resolveTenantMode(settings: Settings, store: Pick<TenantStore, 'listWithProblems'>): Promise<TenantMode> {
  const { tenants, unreadable } = await store.listWithProblems();
  // An unreadable row still means "registry mode": falling back to the settings' tenant would
  // hunt a tenant nobody asked for with credentials meant for others.
  if (tenants.length === 0 && unreadable.length === 0) return { kind: 'single', tenant: settingsTenant(settings) };
  return { kind: 'registry', tenants, unreadable };
}

/**
 * The settings a registry tenant hunts with: the deployment's environment with the tenant's
 * overrides applied, validated by the same reader (a bad override is a configuration error
 * naming the setting).
 */
export function settingsForTenant(env: Record<string, string | undefined>, tenant: Tenant): Settings {
  return loadSettings({
    ...env,
    ...tenant.overrides,
    TENANT_ID: tenant.key,
    GRAPH_BASE_URL: tenant.graphBaseUrl,
    GRAPH_TENANT_ID: tenant.entraTenantId,
    ...(tenant.ruleIds ? { HUNT_RULES: tenant.ruleIds.join(',') } : {}),
  });
}

/**
 * The problems the tenant's settings would have (an override out of range, a rule that does not
 * exist is checked by the hunt): what `tenants add/update` refuses before anything is written.
 */
export function checkTenantSettings(env: Record<string, string | undefined>, fields: TenantFields): FieldError[] {
  try {
    settingsForTenant(env, { ...fields, paused: null, createdAt: '', createdBy: '', updatedAt: '', updatedBy: '', etag: null });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((message) => ({ field: 'overrides', message }));
  }
}

export class UnknownChannelError extends Error {
  constructor(tenant: string, ids: string[]) {
    super(`tenant '${tenant}' names channel(s) ${ids.join(', ')} that NOTIFY_CHANNELS does not define`);
    this.name = 'UnknownChannelError';
  }
}

/**
 * The channels that hear about a tenant: all of them for the settings' single tenant, only the
 * ones it names for a registry tenant (a provider sends each customer's incidents to that
 * customer's Teams and to its own SOC webhook, never to another customer).
 */
export function channelsForTenant(all: readonly Channel[], tenant: Tenant, mode: TenantMode['kind']): Channel[] {
  if (mode === 'single') return [...all];
  const missing = tenant.channelIds.filter((id) => !all.some((c) => c.id === id));
  if (missing.length > 0) throw new UnknownChannelError(tenant.key, missing);
  return all.filter((c) => tenant.channelIds.includes(c.id));
}

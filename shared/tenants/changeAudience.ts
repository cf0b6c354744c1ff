/**
 * Who hears about an allowlist change. An entry scoped to a tenant decides what that customer will
 * never see, so in registry mode its change goes to the tenant's own channels as well as to the
 * deployment's; a global entry is the provider's own policy and stays on the deployment's channels.
 *
 * In registry mode every channel of NOTIFY_CHANNELS is either a tenant's (some registry tenant
 * names it: it hears only about the tenants that name it, exactly as in the hunt) or the
 * deployment's (no tenant names it: it hears every change). With an empty registry there are no
 * tenant channels and every channel hears every change, as before the registry existed.
 *
 * The channel ids are those of NOTIFY_CHANNELS, the ones the hunt's incidents use, and the
 * notification id is the change's: a channel that is both named by the tenant and otherwise in the
 * audience is listed once, and the delivery ledger (channel + notification id) sends it once.
 */
import type { AllowlistScope } from '../allowlist/entry';
import type { Channel } from '../notify/channels';
import type { TenantStore } from './store';

/** What the registry says about channels: its mode, and each tenant's channel ids (null: unknown). */
export type RegistryChannels = { kind: 'single' } | { kind: 'registry'; byTenant: ReadonlyMap<string, readonly string[] | null> };

export interface MissedTenant {
  tenantId: string;
  problem: string;
}

export interface ChangeAudience {
  /** Every channel to route the change to (routing still keeps only those subscribing to it). */
  channels: Channel[];
  /** The deployment's channels alone: where an alert about a missed tenant goes. */
  deployment: Channel[];
  /** Tenants of the change whose channels could not be told, and why. */
  missed: MissedTenant[];
}

/** The registry tenants an entry's change concerns: the scope before and after (two on a move); keys are lower-case, as scopeKey compares them. */
export function changeTenants(scopes: ReadonlyArray<AllowlistScope | undefined>): string[] {
  const keys = scopes.flatMap((scope) => (scope && scope !== 'global' ? [scope.tenantId.toLowerCase()] : []));
  return [...new Set(keys)];
}

/** Reads the registry's channels without creating its table (the API's identity only reads it). */
export async function readRegistryChannels(store: Pick<TenantStore, 'listReadOnly'>): Promise<RegistryChannels> {
  const { tenants, unreadable } = await store.listReadOnly();
  if (tenants.length === 0 && unreadable.length === 0) return { kind: 'single' };
  const byTenant = new Map<string, readonly string[] | null>();
  for (const tenant of tenants) byTenant.set(tenant.key, tenant.channelIds);
  for (const bad of unreadable) byTenant.set(bad.key, bad.channelIds ?? null);
  return { kind: 'registry', byTenant };
}

/**
 * The audience of a change concerning `tenantIds` (empty for a global entry).
 *
 * `registry` is what the registry says now; when it cannot be read, pass the last view this
 * process read (or null) and the problem: the deployment's channels are then taken from that
 * view (none without one, since a tenant's channel cannot be told from the deployment's without
 * the registry, and telling another customer is worse than a warning), and every tenant of the
 * change is reported as missed.
 */
export function changeAudience(
  tenantIds: readonly string[],
  all: readonly Channel[],
  registry: RegistryChannels | null,
  registryProblem: string | null = null,
): ChangeAudience {
  const missedAll = (problem: string): MissedTenant[] => tenantIds.map((tenantId) => ({ tenantId, problem }));
  if (registry === null) return { channels: [], deployment: [], missed: missedAll(registryProblem ?? 'the tenant registry was not read') };
  if (registry.kind === 'single') {
    return { channels: [...all], deployment: [...all], missed: registryProblem ? missedAll(registryProblem) : [] };
  }
  const named = new Set<string>();
  for (const ids of registry.byTenant.values()) for (const id of ids ?? []) named.add(id);
  const deployment = all.filter((c) => !named.has(c.id));
  if (registryProblem) return { channels: deployment, deployment, missed: missedAll(registryProblem) };

  const audience = new Set(deployment.map((c) => c.id));
  const missed: MissedTenant[] = [];
  for (const tenantId of tenantIds) {
    if (!registry.byTenant.has(tenantId)) continue; // not a registry tenant: nobody of its own to tell
    const ids = registry.byTenant.get(tenantId);
    if (ids === null || ids === undefined) {
      missed.push({ tenantId, problem: 'its registry row cannot be read' });
      continue;
    }
    const unknown = ids.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length > 0) missed.push({ tenantId, problem: `it names channel(s) ${unknown.join(', ')} that NOTIFY_CHANNELS does not define` });
    for (const id of ids) audience.add(id);
  }
  return { channels: all.filter((c) => audience.has(c.id)), deployment, missed };
}

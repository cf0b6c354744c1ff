/**
 * Wiring of the many-tenants parts from the settings: the registry and status rows, the shared
 * call counters, the provider app's per-tenant credentials, and a Graph source per tenant. The
 * CLI (`tenants`, `status`, `runs --tenant`), the timer's fan-out and the huntTenant worker all
 * come through here.
 */
import type { Settings } from '../config/settings';
import { GraphHuntingClient } from '../hunting/graphClient';
import type { HuntingSource } from '../hunting/types';
import { StorageFactory } from '../storage/clients';
import { TenantCredentials, type CredentialFactory } from '../tenants/credentials';
import { probeTenant, type ProbeResult } from '../tenants/probe';
import { quotaPolicy } from '../tenants/quota';
import { SharedCallCounters } from '../tenants/quotaStore';
import { TenantStatusStore } from '../tenants/status';
import { TenantStore } from '../tenants/store';
import type { Tenant } from '../tenants/tenant';

export interface TenantServicesOptions {
  storage?: StorageFactory;
  /** Builds each tenant's credential (tests: local tokens); default @azure/identity. */
  credentialFactory?: CredentialFactory;
  now?: () => number;
}

export interface TenantServices {
  store: TenantStore;
  statuses: TenantStatusStore;
  counters: SharedCallCounters;
  credentials: TenantCredentials;
  /** Graph for one tenant: its cloud, its token. */
  sourceFor(tenant: Tenant): HuntingSource;
  /** `tenants test`: token, permission and a one-row query, paced by the tenant's counter. */
  probe(tenant: Tenant): Promise<ProbeResult>;
  ensure(): Promise<void>;
}

export function createTenantServices(settings: Settings, env: Record<string, string | undefined>, options: TenantServicesOptions = {}): TenantServices {
  const storage = options.storage ?? new StorageFactory(settings.storage);
  const table = storage.table(settings.tables.tenants);
  const store = new TenantStore(table);
  const statuses = new TenantStatusStore(table);
  const counters = new SharedCallCounters(table);
  const now = options.now ?? Date.now;
  const credentials = new TenantCredentials({
    app: {
      clientId: settings.tenants.appClientId,
      certificatePem: settings.tenants.appCertificatePem,
      certificatePath: settings.graph.certificatePath,
      certificateProblem: settings.tenants.appCertificateProblem,
    },
    secretSetting: (name) => env[name],
    ...(options.credentialFactory ? { create: options.credentialFactory } : {}),
    now,
  });
  const graphFor = (tenant: Tenant, credential = credentials.credentialFor(tenant)): GraphHuntingClient =>
    new GraphHuntingClient({ baseUrl: tenant.graphBaseUrl, authentication: 'entra', credential, timeoutMs: settings.graph.timeoutMs });

  return {
    store,
    statuses,
    counters,
    credentials,
    sourceFor: (tenant) => graphFor(tenant),
    probe(tenant) {
      const counter = counters.forTenant(tenant.key, quotaPolicy(settings.hunt.maxCallsPerMinute));
      return probeTenant(tenant, {
        clientId: settings.tenants.appClientId,
        credential: (t) => credentials.credentialFor(t),
        source: (t, credential) => {
          const graph = graphFor(t, credential);
          return {
            async runHuntingQuery(request, signal) {
              const wait = await counter.admit(now());
              if (wait > 0) throw new Error(`the tenant's Graph call budget is in use (${Math.ceil(wait / 1000)} s until a call is free): try again`);
              return graph.runHuntingQuery(request, signal);
            },
          };
        },
      });
    },
    ensure: () => store.ensure(),
  };
}

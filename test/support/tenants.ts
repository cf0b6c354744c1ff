/** Helpers for the tenant tests: a registry entry with defaults, changed where a test says. */
import type { Tenant } from '../../shared/tenants/tenant';

export function makeTenant(key: string, overrides: Partial<Tenant> = {}): Tenant {
  return {
    key,
    entraTenantId: `${key}.onmicrosoft.com`,
    displayName: key,
    graphBaseUrl: 'https://graph.microsoft.com',
    ruleIds: null,
    channelIds: [],
    credential: { kind: 'certificate' },
    overrides: {},
    paused: null,
    createdAt: '',
    createdBy: '',
    updatedAt: '',
    updatedBy: '',
    etag: null,
    ...overrides,
  };
}

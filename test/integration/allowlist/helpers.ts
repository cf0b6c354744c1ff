/** Shared setup for allowlist integration tests: a store on fresh Azurite tables. */
import { TableClient } from '@azure/data-tables';
import type { AllowlistEntryInput } from '../../../shared/allowlist/entry';
import type { AllowlistChange } from '../../../shared/allowlist/notifier';
import { AllowlistStore } from '../../../shared/allowlist/store';
import type { Clock } from '../../../shared/clock';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

/** A clock that moves 1 s forward every time it is read, so audit order is observable. */
export function steppingClock(start = '2025-03-01T00:00:00Z'): Clock & { set(iso: string): void } {
  let t = Date.parse(start);
  return {
    now: () => new Date((t += 1000)),
    // Real (short) sleeps: hit-batch retries back off, and tests race real writers.
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    set: (iso: string) => {
      t = Date.parse(iso);
    },
  };
}

export function tables(): { entries: TableClient; audit: TableClient } {
  const options = { allowInsecureConnection: true };
  return {
    entries: TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('allow'), options),
    audit: TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('allowaudit'), options),
  };
}

export function makeStore(clock: Clock = steppingClock()): { store: AllowlistStore; changes: AllowlistChange[]; clock: Clock } & ReturnType<typeof tables> {
  const t = tables();
  const changes: AllowlistChange[] = [];
  const store = new AllowlistStore({
    ...t,
    clock,
    notifier: { announce: async (change) => void changes.push(change) },
    logger: { warn: () => undefined },
  });
  return { store, changes, clock, ...t };
}

export function input(overrides: Partial<AllowlistEntryInput> = {}): AllowlistEntryInput {
  return {
    conditions: { signerSubject: 'CN=Contoso Internal*' },
    scope: 'global',
    reason: 'internal PKI',
    owner: 'pki-team',
    expiresAt: '2025-04-01T00:00:00.000Z',
    permanent: false,
    enabled: true,
    ...overrides,
  };
}

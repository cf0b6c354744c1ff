/**
 * Helpers for the incident integration tests: Azurite tables that count the HTTP requests they
 * send (the stores promise request budgets), and incident building with the test rule.
 */
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { buildIncidents, type BuildContext } from '../../../shared/incidents/build';
import type { Finding } from '../../../shared/model/finding';
import type { Incident } from '../../../shared/model/incident';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { makeRuleContext } from '../../support/findings';

export const MINUTE = 60 * 1000;
export const HOUR = 60 * MINUTE;
export const TENANT = 'tenant-1';
export const RULE = 't1587-002';

type Policy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number];

export interface CountingTable {
  table: TableClient;
  /** HTTP requests sent since creation or the last `reset()` (a transaction is one). */
  requests(): number;
  reset(): void;
}

/** A fresh table on the run's Azurite whose client counts every request (once per call, not per retry). */
export async function countingTable(prefix: string): Promise<CountingTable> {
  let n = 0;
  const policy: Policy = {
    policy: {
      name: 'count-requests',
      sendRequest: (request, next) => {
        n++;
        return next(request);
      },
    },
    position: 'perCall',
  };
  const table = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName(prefix), {
    allowInsecureConnection: true,
    additionalPolicies: [policy],
  });
  await table.createTable();
  n = 0;
  return {
    table,
    requests: () => n,
    reset: () => {
      n = 0;
    },
  };
}

export function buildContext(overrides: Partial<Omit<BuildContext, 'now'>> = {}): Omit<BuildContext, 'now'> {
  return { tenantId: TENANT, rule: makeRuleContext(), story: { windowMs: 8 * HOUR }, chainWindowMs: 2 * HOUR, ...overrides };
}

export function build(findings: Finding[], now: string): Incident[] {
  return buildIncidents(findings, { ...buildContext(), now: new Date(now) });
}

export async function rowCount(table: TableClient): Promise<number> {
  let n = 0;
  for await (const _ of table.listEntities()) n++;
  return n;
}

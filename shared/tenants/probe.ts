/**
 * `tenants test KEY`: proves a tenant can be hunted, step by step, and stops at the first step
 * that fails with what is missing (diagnose.ts): the credential can be built from the settings;
 * Entra issues a token for the tenant; the token carries ThreatHunting.Read.All; Graph runs a
 * one-row hunting query. The query goes through the tenant's shared call counter like any other.
 */
import type { TokenCredential } from '@azure/identity';
import { resolveGraphEndpoint } from '../hunting/clouds';
import { HuntingError } from '../hunting/errors';
import type { HuntingSource } from '../hunting/types';
import { adminConsentUrl } from './credentials';
import {
  decodeTokenClaims,
  diagnoseGraphRefusal,
  diagnoseTokenClaims,
  diagnoseTokenFailure,
  type Diagnosis,
  type TenantProblem,
} from './diagnose';
import { isTenantGuid, type Tenant } from './tenant';

export const PROBE_QUERY = 'DeviceProcessEvents | take 1';
export const PROBE_TIMESPAN = 'P1D';

export type ProbeStepName = 'configuration' | 'token' | 'permission' | 'query';

export interface ProbeStep {
  step: ProbeStepName;
  ok: boolean;
  detail: string;
}

export interface ProbeResult {
  tenant: string;
  ok: boolean;
  problem: TenantProblem | null;
  advice: string | null;
  /** For the customer's administrator, whenever consent may be what is missing. */
  consentUrl: string | null;
  steps: ProbeStep[];
  /** Rows the one-row query returned (0 is fine: the tenant simply had no process events). */
  rows: number | null;
}

export interface ProbeDeps {
  clientId: string | null;
  /** The tenant's credential (throws a configuration error when it cannot be built). */
  credential(tenant: Tenant): TokenCredential;
  /** The tenant's hunting source using that credential (and its call counter). */
  source(tenant: Tenant, credential: TokenCredential): HuntingSource;
}

const CONSENT_PROBLEMS: readonly TenantProblem[] = ['admin-consent-missing', 'permission-missing', 'wrong-tenant-id'];

function short(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 400 ? `${flat.slice(0, 400)}…` : flat;
}

export async function probeTenant(tenant: Tenant, deps: ProbeDeps): Promise<ProbeResult> {
  const steps: ProbeStep[] = [];
  const consentUrl = deps.clientId
    ? adminConsentUrl({ graphBaseUrl: tenant.graphBaseUrl, entraTenantId: tenant.entraTenantId, clientId: deps.clientId })
    : null;
  const fail = (step: ProbeStepName, diagnosis: Diagnosis, detail: string): ProbeResult => {
    steps.push({ step, ok: false, detail });
    return {
      tenant: tenant.key,
      ok: false,
      problem: diagnosis.problem,
      advice: diagnosis.advice,
      consentUrl: CONSENT_PROBLEMS.includes(diagnosis.problem) ? consentUrl : null,
      steps,
      rows: null,
    };
  };

  let credential: TokenCredential;
  try {
    credential = deps.credential(tenant);
    steps.push({ step: 'configuration', ok: true, detail: `${tenant.credential.kind === 'secret' ? `client secret from ${tenant.credential.setting}` : 'provider certificate'}, app ${deps.clientId ?? '?'}` });
  } catch (error) {
    return fail('configuration', { problem: 'configuration', advice: short(error), aadsts: null }, short(error));
  }

  const scope = resolveGraphEndpoint(tenant.graphBaseUrl).scope;
  let token: string;
  try {
    const issued = await credential.getToken(scope);
    if (!issued) throw new Error('the credential returned no token');
    token = issued.token;
    steps.push({ step: 'token', ok: true, detail: `token for ${scope} from tenant ${tenant.entraTenantId}` });
  } catch (error) {
    const diagnosis = diagnoseTokenFailure(error);
    return fail('token', diagnosis, short(error));
  }

  const claims = decodeTokenClaims(token);
  const claimProblem = diagnoseTokenClaims(claims, isTenantGuid(tenant.entraTenantId) ? tenant.entraTenantId : null);
  if (claimProblem) return fail('permission', claimProblem, `roles: ${(claims?.roles ?? []).join(', ') || 'none'}`);
  steps.push({
    step: 'permission',
    ok: true,
    detail: claims ? `roles: ${(claims.roles ?? []).join(', ')}` : 'the token is not a readable JWT; Graph decides below',
  });

  try {
    const answer = await deps.source(tenant, credential).runHuntingQuery({ query: PROBE_QUERY, timespan: PROBE_TIMESPAN });
    steps.push({ step: 'query', ok: true, detail: `${PROBE_QUERY}: ${answer.results.length} row(s), ${answer.schema.length} column(s)` });
    return { tenant: tenant.key, ok: true, problem: null, advice: null, consentUrl: null, steps, rows: answer.results.length };
  } catch (error) {
    if (error instanceof HuntingError && error.status !== undefined) {
      return fail('query', diagnoseGraphRefusal(error.status, error.graphCode, error.graphMessage), short(error));
    }
    if (error instanceof HuntingError && error.kind === 'auth') {
      return fail('query', diagnoseTokenFailure(error.cause ?? error), short(error));
    }
    if (error instanceof HuntingError && error.kind === 'network') {
      return fail('query', { problem: 'unreachable', advice: `Graph at ${tenant.graphBaseUrl} could not be reached from this host`, aadsts: null }, short(error));
    }
    return fail('query', { problem: 'unexpected', advice: short(error), aadsts: null }, short(error));
  }
}

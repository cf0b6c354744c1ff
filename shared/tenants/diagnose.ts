/**
 * What is missing when a tenant cannot be hunted, read from what Entra and Graph actually answer:
 * the AADSTS code in a token endpoint's error (also inside the message @azure/identity throws),
 * the `roles` claim of the app-only token, and Graph's 401/403. Each diagnosis names the problem,
 * says who fixes it and how. Pure: shared by `tenants test` and the tenant status of hunt jobs.
 */

export const THREAT_HUNTING_ROLE = 'ThreatHunting.Read.All';

export type TenantProblem =
  | 'wrong-tenant-id'
  | 'admin-consent-missing'
  | 'permission-missing'
  | 'credential-rejected'
  | 'app-disabled'
  | 'wrong-cloud'
  | 'blocked-by-policy'
  | 'token-rejected'
  | 'throttled'
  | 'configuration'
  | 'unreachable'
  | 'unexpected';

export interface Diagnosis {
  problem: TenantProblem;
  /** One sentence: what is wrong and who fixes it. */
  advice: string;
  /** The AADSTS code Entra gave, when it gave one. */
  aadsts: number | null;
}

/**
 * AADSTS codes of the client-credentials flow (Microsoft Entra authentication and authorization
 * error codes), mapped to what the operator has to do.
 */
const AADSTS: ReadonlyArray<[number, TenantProblem, string]> = [
  [90002, 'wrong-tenant-id', 'Entra does not know this tenant: check the tenant id (Entra admin center > Overview > Tenant ID) and its cloud'],
  [900023, 'wrong-tenant-id', 'the tenant id is neither a GUID nor a domain Entra knows: check the tenant id'],
  [700016, 'admin-consent-missing', "the provider app is not in the customer's tenant: their Global Administrator must open the admin consent URL (or the tenant id names another tenant)"],
  [65001, 'admin-consent-missing', "the customer's administrator has not consented to the provider app: open the admin consent URL"],
  [7000215, 'credential-rejected', 'the client secret is wrong: put the current secret of the app registration in the setting the tenant names'],
  [7000222, 'credential-rejected', 'the client secret has expired: create a new one and update the setting the tenant names'],
  [700027, 'credential-rejected', 'the certificate is not one of the app registration\'s credentials: upload its public part (Key Vault certificate) to the app registration'],
  [700024, 'credential-rejected', 'the client assertion is outside its valid time range: check the clock of the host'],
  [7000112, 'app-disabled', 'the provider app is disabled in the customer\'s tenant (Enterprise applications > Properties > Enabled for users to sign in)'],
  [500011, 'wrong-cloud', 'Microsoft Graph of this cloud is not in the tenant: the tenant lives in another cloud (set its Graph base URL)'],
  [53003, 'blocked-by-policy', "a Conditional Access policy of the customer's tenant blocks the provider app (workload identity policy)"],
];

function aadstsCodes(text: string): number[] {
  return [...text.matchAll(/AADSTS(\d{4,7})/g)].map((m) => Number(m[1]));
}

/** The failure of a token request (the @azure/identity error, or its text). */
export function diagnoseTokenFailure(error: unknown): Diagnosis {
  const text = error instanceof Error ? `${error.name}: ${error.message} ${error.cause instanceof Error ? error.cause.message : ''}` : String(error);
  for (const code of aadstsCodes(text)) {
    const known = AADSTS.find(([c]) => c === code);
    if (known) return { problem: known[1], advice: known[2], aadsts: code };
  }
  if (/ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|network|socket hang up|fetch failed/i.test(text)) {
    return { problem: 'unreachable', advice: 'the Entra token endpoint could not be reached from this host (network, proxy or firewall)', aadsts: null };
  }
  const code = aadstsCodes(text)[0] ?? null;
  return {
    problem: 'unexpected',
    advice: code === null ? 'the token request failed; the message below says why' : `Entra refused the token with AADSTS${code}; look the code up in the Entra error code reference`,
    aadsts: code,
  };
}

export interface TokenClaims {
  tid?: string;
  roles?: string[];
  aud?: string;
  appid?: string;
}

/** The claims of a JWT access token, or null when the token is not a readable JWT. */
export function decodeTokenClaims(token: string): TokenClaims | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = JSON.parse(Buffer.from(payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
    const claims = json as Record<string, unknown>;
    return {
      ...(typeof claims.tid === 'string' ? { tid: claims.tid } : {}),
      ...(Array.isArray(claims.roles) ? { roles: claims.roles.filter((r): r is string => typeof r === 'string') } : {}),
      ...(typeof claims.aud === 'string' ? { aud: claims.aud } : {}),
      ...(typeof claims.appid === 'string' ? { appid: claims.appid } : {}),
    };
  } catch {
    return null;
  }
}

/**
 * An app-only token lists the application permissions consented in the tenant in `roles`; no
 * ThreatHunting.Read.All there means Graph will answer 403 however the query is written.
 */
export function diagnoseTokenClaims(claims: TokenClaims | null, expectedTenantId: string | null): Diagnosis | null {
  if (!claims) return null;
  if (expectedTenantId && claims.tid && claims.tid.toLowerCase() !== expectedTenantId.toLowerCase()) {
    return { problem: 'wrong-tenant-id', advice: `the token was issued by tenant ${claims.tid}, not ${expectedTenantId}`, aadsts: null };
  }
  if (!(claims.roles ?? []).includes(THREAT_HUNTING_ROLE)) {
    return {
      problem: 'permission-missing',
      advice:
        `the token has no ${THREAT_HUNTING_ROLE} role (roles: ${(claims.roles ?? []).join(', ') || 'none'}): add the Microsoft Graph application permission ` +
        `${THREAT_HUNTING_ROLE} to the app registration, then have the customer's administrator consent again (admin consent URL)`,
      aadsts: null,
    };
  }
  return null;
}

/** Graph's answer to the hunting query: status and Graph's own error code and message. */
export function diagnoseGraphRefusal(status: number | undefined, graphCode: string | undefined, graphMessage: string | undefined): Diagnosis {
  const said = `${graphCode ?? ''} ${graphMessage ?? ''}`;
  if (status === 403) {
    if (/role|permission|scope|ThreatHunting/i.test(said)) {
      return {
        problem: 'permission-missing',
        advice: `Graph says the app lacks ${THREAT_HUNTING_ROLE} in this tenant: add the application permission and have the customer's administrator consent again`,
        aadsts: null,
      };
    }
    return {
      problem: 'permission-missing',
      advice: `Graph refused the hunting query (403): check ${THREAT_HUNTING_ROLE} with admin consent, and that the tenant has Microsoft Defender XDR`,
      aadsts: null,
    };
  }
  if (status === 401) {
    return { problem: 'token-rejected', advice: 'Graph did not accept the token: the tenant\'s Graph base URL (cloud) does not match where the token was issued', aadsts: null };
  }
  if (status === 429) {
    return { problem: 'throttled', advice: "Defender's hunting quota of this tenant is used up for now: nothing to fix, it clears by itself", aadsts: null };
  }
  return { problem: 'unexpected', advice: `Graph answered ${status ?? 'nothing'}${said.trim() ? ` (${said.trim()})` : ''}`, aadsts: null };
}

/**
 * What a failed hunt cycle's error text (RunRecord.error) says is wrong with the tenant, for its
 * status and `codesign-hunt status`; null when nothing tenant-specific can be told.
 */
export function diagnoseRunError(text: string | null): Diagnosis | null {
  if (!text) return null;
  if (/AADSTS\d+/.test(text)) return diagnoseTokenFailure(text);
  const status = /\bHTTP (\d{3})\b/.exec(text)?.[1];
  if (status === '401' || status === '403' || status === '429') return diagnoseGraphRefusal(Number(status), undefined, text);
  if (/HuntingQuotaError|quota reached|CycleDeadlineError.*quota|Defender quota/i.test(text)) return diagnoseGraphRefusal(429, undefined, text);
  if (/Could not get a Microsoft Graph token/.test(text)) return diagnoseTokenFailure(text);
  if (/HuntingConfigurationError/.test(text)) return { problem: 'configuration', advice: text.slice(0, 300), aadsts: null };
  return null;
}

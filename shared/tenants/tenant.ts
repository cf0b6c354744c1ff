/**
 * A customer tenant in the registry: which Entra tenant it is, which cloud, which rules run for
 * it, which channels hear about it, how it authenticates, what it overrides, and whether it is
 * paused. This module owns the model and the validation of what a person (CLI flags, a JSON file)
 * may write into one; every bad or unknown field is reported at once, by name. Pure.
 *
 * The key is the logical tenant name the rest of the app already uses (TENANT_ID): checkpoints,
 * incidents, recent steps, run records and tenant-scoped allowlist entries are keyed by it.
 */
import { resolveGraphEndpoint } from '../hunting/clouds';

/** Lower-case so it is a valid TENANT_ID, allowlist scope and Table key without escaping. */
export const TENANT_KEY_PATTERN = /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A verified domain of the tenant (contoso.onmicrosoft.com) is accepted where Entra accepts it. */
const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** App settings a secret reference may name (their value is a Key Vault reference in Azure). */
export const SECRET_SETTING_PATTERN = /^[A-Z][A-Z0-9_]{2,99}$/;
const RULE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CHANNEL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const MAX_DISPLAY_NAME_LENGTH = 200;
export const MAX_PAUSE_REASON_LENGTH = 500;

/**
 * Settings a tenant may override, by their documented names (docs/settings.md): pacing, windows,
 * health and incident timing. Storage, queues, channels and credentials stay deployment-wide.
 */
export const OVERRIDABLE_SETTINGS = [
  'HUNT_INGESTION_DELAY_MINUTES',
  'HUNT_OVERLAP_MINUTES',
  'HUNT_INITIAL_LOOKBACK_MINUTES',
  'HUNT_BACKFILL_CHUNK_MINUTES',
  'HUNT_MAX_CHUNKS_PER_CYCLE',
  'HUNT_TIMESPAN_MARGIN_MINUTES',
  'HUNT_CYCLE_BUDGET_SECONDS',
  'HUNT_MAX_CALLS_PER_MINUTE',
  'HUNT_ROW_LIMIT',
  'HUNT_MIN_SPLIT_WINDOW_SECONDS',
  'HEALTH_FAILURE_THRESHOLD',
  'HEALTH_MAX_LAG_MINUTES',
  'INCIDENT_GROUPING_WINDOW_MINUTES',
  'INCIDENT_CHAIN_WINDOW_MINUTES',
  'INCIDENT_UPDATE_INTERVAL_MINUTES',
  'TEAMS_DIGEST_THRESHOLD',
  'DEFENDER_PORTAL_BASE_URL',
] as const;
export type OverridableSetting = (typeof OVERRIDABLE_SETTINGS)[number];

/**
 * How the provider's multi-tenant app proves itself in this tenant: the deployment's certificate
 * (PROVIDER_APP_CERTIFICATE, from Key Vault), or a client secret held in the app setting named
 * here. The registry never holds a secret, only where to find one.
 */
export type TenantCredentialRef = { kind: 'certificate' } | { kind: 'secret'; setting: string };

export interface TenantPause {
  reason: string;
  by: string;
  at: string;
}

export interface Tenant {
  key: string;
  /** The customer's Entra tenant: a GUID, or a verified domain. */
  entraTenantId: string;
  displayName: string;
  /** Graph origin of the tenant's cloud (global, US Gov, DoD, China). */
  graphBaseUrl: string;
  /** Rule ids to run; null: HUNT_RULES. */
  ruleIds: string[] | null;
  /** Ids of NOTIFY_CHANNELS entries that receive this tenant's incidents and health alerts. */
  channelIds: string[];
  credential: TenantCredentialRef;
  overrides: Partial<Record<OverridableSetting, string>>;
  paused: TenantPause | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** Storage ETag of the row; null for a tenant that is not stored (the single-tenant default). */
  etag: string | null;
}

/** What a writer supplies when adding a tenant (the rest is set by the store). */
export interface TenantInput {
  key: string;
  entraTenantId: string;
  displayName?: string;
  graphBaseUrl?: string;
  ruleIds?: string[] | null;
  channelIds?: string[];
  credential?: TenantCredentialRef;
  overrides?: Partial<Record<string, string>>;
}

/** A validated tenant's own fields (what validation returns and the store writes). */
export type TenantFields = Pick<Tenant, 'key' | 'entraTenantId' | 'displayName' | 'graphBaseUrl' | 'ruleIds' | 'channelIds' | 'credential' | 'overrides'>;

export type TenantValidation = { ok: true; value: TenantFields } | { ok: false; errors: FieldError[] };

/** A change to an existing tenant: only the fields given change; `overrides` values of '' unset. */
export type TenantPatch = Partial<Omit<TenantInput, 'key'>>;

export interface FieldError {
  field: string;
  message: string;
}

export class TenantValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid tenant: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    this.name = 'TenantValidationError';
  }
}

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';

function isOverridable(name: string): name is OverridableSetting {
  return (OVERRIDABLE_SETTINGS as readonly string[]).includes(name);
}

function checkList(errors: FieldError[], field: string, values: readonly string[], pattern: RegExp, what: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of values) {
    const value = raw.trim();
    if (!pattern.test(value)) {
      errors.push({ field, message: `has an invalid ${what} ${JSON.stringify(value.slice(0, 70))}` });
      continue;
    }
    if (!seen.has(value)) out.push(value);
    seen.add(value);
  }
  return out;
}

function checkGraphBaseUrl(errors: FieldError[], value: string): string {
  try {
    const endpoint = resolveGraphEndpoint(value);
    if (!endpoint.cloud && !endpoint.isLoopback) {
      errors.push({ field: 'graphBaseUrl', message: 'must be a Microsoft Graph cloud (global, usgov, dod, china) or a loopback test server' });
    }
    return endpoint.baseUrl;
  } catch (error) {
    errors.push({ field: 'graphBaseUrl', message: (error as Error).message });
    return value;
  }
}

function checkCredential(errors: FieldError[], value: TenantCredentialRef): TenantCredentialRef {
  if (value.kind === 'certificate') return { kind: 'certificate' };
  if (value.kind === 'secret') {
    if (!SECRET_SETTING_PATTERN.test(value.setting)) {
      errors.push({ field: 'credential.setting', message: 'must name an app setting (A-Z, 0-9, _), e.g. TENANT_CONTOSO_SECRET, whose value is a Key Vault reference' });
    }
    return { kind: 'secret', setting: value.setting };
  }
  errors.push({ field: 'credential.kind', message: "must be 'certificate' or 'secret'" });
  return { kind: 'certificate' };
}

function checkOverrides(errors: FieldError[], value: Partial<Record<string, string>>): Partial<Record<OverridableSetting, string>> {
  const out: Partial<Record<OverridableSetting, string>> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!isOverridable(name)) {
      errors.push({ field: `overrides.${name.slice(0, 60)}`, message: `cannot be set per tenant (overridable: ${OVERRIDABLE_SETTINGS.join(', ')})` });
      continue;
    }
    if (raw === undefined) continue;
    if (typeof raw !== 'string') {
      errors.push({ field: `overrides.${name}`, message: 'must be a string, as in the app settings' });
      continue;
    }
    if (raw.trim() !== '') out[name] = raw.trim();
  }
  return out;
}

/** Checks a new tenant; the store adds timestamps and the ETag. */
export function validateTenantInput(input: TenantInput): TenantValidation {
  const errors: FieldError[] = [];
  const key = input.key.trim();
  if (!TENANT_KEY_PATTERN.test(key)) {
    errors.push({ field: 'key', message: 'must be 1-64 lower-case letters, digits, dots or dashes, starting and ending with a letter or digit' });
  }
  const entraTenantId = input.entraTenantId.trim();
  if (!GUID.test(entraTenantId) && !DOMAIN.test(entraTenantId)) {
    errors.push({ field: 'entraTenantId', message: 'must be the customer\'s Entra tenant id (a GUID) or a verified domain such as contoso.onmicrosoft.com' });
  }
  const displayName = (input.displayName ?? key).trim();
  if (displayName.length === 0 || displayName.length > MAX_DISPLAY_NAME_LENGTH) {
    errors.push({ field: 'displayName', message: `must be 1-${MAX_DISPLAY_NAME_LENGTH} characters` });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/.test(displayName)) {
    errors.push({ field: 'displayName', message: 'must not contain control or invisible formatting characters' });
  }
  const graphBaseUrl = checkGraphBaseUrl(errors, input.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL);
  const ruleIds = input.ruleIds === undefined || input.ruleIds === null ? null : checkList(errors, 'ruleIds', input.ruleIds, RULE_ID, 'rule id');
  if (ruleIds !== null && ruleIds.length === 0 && errors.every((e) => e.field !== 'ruleIds')) {
    errors.push({ field: 'ruleIds', message: 'must name at least one rule (leave it unset for HUNT_RULES)' });
  }
  const channelIds = checkList(errors, 'channelIds', input.channelIds ?? [], CHANNEL_ID, 'channel id');
  const credential = checkCredential(errors, input.credential ?? { kind: 'certificate' });
  const overrides = checkOverrides(errors, input.overrides ?? {});
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { key, entraTenantId, displayName, graphBaseUrl, ruleIds, channelIds, credential, overrides } };
}

/** The tenant after `patch`, validated as a whole (so a patch cannot leave an invalid tenant). */
export function applyTenantPatch(tenant: Tenant, patch: TenantPatch): TenantValidation {
  const overrides: Partial<Record<string, string>> = { ...tenant.overrides };
  for (const [name, value] of Object.entries(patch.overrides ?? {})) {
    if (value === undefined || value.trim() === '') delete overrides[name];
    else overrides[name] = value;
  }
  return validateTenantInput({
    key: tenant.key,
    entraTenantId: patch.entraTenantId ?? tenant.entraTenantId,
    displayName: patch.displayName ?? tenant.displayName,
    graphBaseUrl: patch.graphBaseUrl ?? tenant.graphBaseUrl,
    ruleIds: patch.ruleIds === undefined ? tenant.ruleIds : patch.ruleIds,
    channelIds: patch.channelIds ?? tenant.channelIds,
    credential: patch.credential ?? tenant.credential,
    overrides,
  });
}

export function checkPauseReason(reason: string): FieldError[] {
  const trimmed = reason.trim();
  if (trimmed.length === 0) return [{ field: 'reason', message: 'is required: say why hunting stops for this tenant' }];
  if (trimmed.length > MAX_PAUSE_REASON_LENGTH) return [{ field: 'reason', message: `must be at most ${MAX_PAUSE_REASON_LENGTH} characters` }];
  return [];
}

/** The Entra tenant id is a GUID (and not a domain): tokens name it in their `tid` claim. */
export function isTenantGuid(value: string): boolean {
  return GUID.test(value);
}

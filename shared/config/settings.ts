/**
 * Settings: the one place that reads the environment. Every setting is read and validated once,
 * all problems are reported together, and secrets (webhook URLs carry signatures, client secrets)
 * are never echoed: `describeSettings` redacts them for logs.
 *
 * Each setting is documented in docs/settings.md and listed in local.settings.sample.json;
 * test/unit/config/settingsConsistency.test.ts keeps the three in step.
 */
import { DEFAULT_RETENTION, retentionProblems, type RetentionSettings } from '../retention/policy';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

export type GraphAuthMode = 'managed-identity' | 'client-secret' | 'client-certificate' | 'default' | 'none';

/** How to reach Table and Queue Storage: a connection string, or identity-based URIs. */
export type StorageConnection =
  | { kind: 'connection-string'; connectionString: string }
  | { kind: 'identity'; tableServiceUri: string; queueServiceUri: string; clientId: string | null };

export interface Settings {
  tenantId: string;
  ruleIds: string[];
  hunt: {
    schedule: string;
    /** null: the rule's own `ingestionDelay` (rule.yaml). */
    ingestionDelayMs: number | null;
    /** null: the rule's own `overlap` (rule.yaml). */
    overlapMs: number | null;
    initialLookbackMs: number;
    backfillChunkMs: number;
    maxChunksPerCycle: number;
    timespanMarginMs: number;
    cycleBudgetMs: number;
    maxCallsPerMinute: number;
    rowLimit: number;
    minSplitWindowMs: number;
    leaseMs: number;
  };
  graph: {
    baseUrl: string;
    auth: GraphAuthMode;
    clientId: string | null;
    azureTenantId: string | null;
    clientSecret: string | null;
    certificatePath: string | null;
    timeoutMs: number;
  };
  storage: StorageConnection;
  tables: {
    checkpoints: string;
    incidents: string;
    allowlist: string;
    allowlistAudit: string;
    deliveries: string;
    recentSteps: string;
    recentFindings: string;
    /** The tenant registry, with each tenant's job status and shared call counter. */
    tenants: string;
  };
  /** Many tenants (docs/tenants.md). */
  tenants: {
    /** The queue the timer fans hunt jobs out on (and the huntTenant trigger's). */
    jobsQueue: string;
    /** The provider's multi-tenant app registration, consented in each customer tenant. */
    appClientId: string | null;
    /** Its certificate as PEM (private key + certificate), from Key Vault. A secret. */
    appCertificatePem: string | null;
    /** Why the certificate setting holds no certificate although it is set (an unresolved Key Vault reference). */
    appCertificateProblem: string | null;
  };
  health: { failureThreshold: number; maxLagMs: number };
  incidents: {
    /** Longest pause between two steps of one story that share material (file, key, subject, parent, script). */
    groupingWindowMs: number;
    /** Longest pause between two steps of one story that share nothing. */
    storyGapMs: number;
    /** Longest a story runs from its first step before the next step opens a new incident. */
    storyMaxSpanMs: number;
    chainWindowMs: number;
    updateIntervalMs: number;
    allowlistBaseUrl: string | null;
    portalBaseUrl: string;
  };
  allowlist: { maxLifetimeDays: number; devPrincipal: string | null; signInPath: string | null; previewLookbackDays: number; maxSharePercent: number };
  delivery: {
    queueName: string;
    /** NOTIFY_CHANNELS as given: parsed (and validated) by shared/notify/channels. A secret. */
    channelsJson: string | undefined;
    digestThreshold: number;
    maxAttempts: number;
    timeoutMs: number;
    allowLoopbackForTests: boolean;
    allowFolderChannels: boolean;
  };
  /** Days rows are kept before the timer's purge (shared/retention). */
  retention: RetentionSettings;
}

/** Names of settings whose values must never be logged. */
export const SECRET_SETTINGS = new Set(['GRAPH_CLIENT_SECRET', 'PROVIDER_APP_CERTIFICATE', 'NOTIFY_CHANNELS', 'Storage']);

type Env = Record<string, string | undefined>;

/**
 * Variables the platform sets when the app runs in Azure (App Service and Azure Functions on every
 * plan, including Flex Consumption; Container Apps), never set by Core Tools or the CLI locally.
 */
export const AZURE_PLATFORM_VARIABLES = ['WEBSITE_INSTANCE_ID', 'WEBSITE_SITE_NAME', 'WEBSITE_OWNER_NAME', 'WEBSITE_RESOURCE_GROUP', 'CONTAINER_APP_NAME'] as const;

/**
 * Switches for tests, the demo and local development, each with the values that turn it on. Each
 * opens a door that must stay shut in Azure (both allowlist roles without authentication, http and
 * loopback receivers, a folder channel, Graph without a token, the storage emulator), so the app
 * refuses to start in Azure while one is on. test/unit/config/azureRefusal.test.ts checks that
 * every "Tests/Demo/Local development only" setting of the reference is listed here.
 */
export const LOCAL_ONLY_SETTINGS: readonly { name: string; isOn: (value: string) => boolean; purpose: string }[] = [
  { name: 'ALLOWLIST_DEV_PRINCIPAL', isOn: () => true, purpose: 'local development only (all allowlist roles without authentication)' },
  { name: 'DELIVERY_ALLOW_LOOPBACK', isOn: (v) => v.toLowerCase() !== 'false', purpose: 'tests only (http and loopback receivers)' },
  { name: 'NOTIFY_ALLOW_FOLDER', isOn: (v) => v.toLowerCase() !== 'false', purpose: 'demo only (the folder channel)' },
  { name: 'GRAPH_AUTH', isOn: (v) => v.toLowerCase() === 'none', purpose: 'set to none, for tests only (Graph without a token)' },
  { name: 'GRAPH_BASE_URL', isOn: (v) => isLoopbackUrl(v), purpose: 'a loopback address, for tests only (a local Graph stand-in)' },
  { name: 'Storage', isOn: isDevelopmentStorage, purpose: 'the storage emulator, for local development only' },
  { name: 'AzureWebJobsStorage', isOn: isDevelopmentStorage, purpose: 'the storage emulator, for local development only' },
];

function isDevelopmentStorage(value: string): boolean {
  return /(^|;)\s*UseDevelopmentStorage\s*=\s*true\s*(;|$)/i.test(value);
}

/** Collects problems instead of throwing on the first, so an operator fixes them all at once. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  /** A variable of the hosting platform (not a setting of this app). */
  platform(name: string): string | undefined {
    return this.raw(name);
  }

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  number(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name} must be a number between ${min} and ${max} (got "${text}")`);
      return fallback;
    }
    return value;
  }

  minutes(name: string, fallbackMinutes: number, bounds: { min?: number; max?: number } = {}): number {
    return this.number(name, fallbackMinutes, bounds) * 60_000;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const match = allowed.find((a) => a === text.toLowerCase());
    if (!match) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${text}")`);
      return fallback;
    }
    return match;
  }

  httpsUrl(name: string, options: { allowLoopbackHttp?: boolean } = {}): string | null {
    const text = this.raw(name);
    if (text === undefined) return null;
    try {
      const url = new URL(text);
      if (url.protocol === 'https:') return text.replace(/\/+$/, '');
      if (options.allowLoopbackHttp && url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost')) return text.replace(/\/+$/, '');
    } catch {
      // reported below
    }
    this.problems.push(`${name} must be an https URL${options.allowLoopbackHttp ? ' (or http://127.0.0.1 / http://localhost locally)' : ''}`);
    return null;
  }

  queueName(name: string, fallback: string): string {
    const value = this.string(name, fallback);
    if (!/^[a-z0-9](?:[a-z0-9-]{1,54}[a-z0-9])?$/.test(value) || value.includes('--')) {
      this.problems.push(`${name} must be a valid queue name (lower-case letters, digits and single dashes, at most 56 characters)`);
    }
    return value;
  }

  tableName(name: string, fallback: string): string {
    const value = this.string(name, fallback);
    if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(value)) {
      this.problems.push(`${name} must be a valid table name (letters and digits, 3-63, starting with a letter)`);
    }
    return value;
  }
}

const GRAPH_AUTH_MODES = ['managed-identity', 'client-secret', 'client-certificate', 'default', 'none'] as const;

/**
 * A same-origin path only: the page redirects browsers there, so an absolute or
 * protocol-relative URL would make it an open redirect.
 */
function signInPathOf(value: string | null, problems: string[]): string | null {
  if (value === null) return null;
  if (!/^\/(?![/\\])[A-Za-z0-9._~/-]*$/.test(value)) {
    problems.push('ALLOWLIST_SIGN_IN_PATH must be a path on this app, such as /.auth/login/aad');
    return null;
  }
  return value;
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

function readStorage(r: Reader): StorageConnection {
  const connectionString = r.raw('Storage') ?? r.raw('AzureWebJobsStorage');
  const tableServiceUri = r.raw('Storage__tableServiceUri');
  const queueServiceUri = r.raw('Storage__queueServiceUri');
  if (tableServiceUri || queueServiceUri) {
    if (!tableServiceUri || !queueServiceUri) {
      r.problems.push('Storage__tableServiceUri and Storage__queueServiceUri must be set together');
    }
    return {
      kind: 'identity',
      tableServiceUri: tableServiceUri ?? '',
      queueServiceUri: queueServiceUri ?? '',
      clientId: r.optional('Storage__clientId'),
    };
  }
  const credential = r.raw('Storage__credential');
  if (credential !== undefined && credential.toLowerCase() !== 'managedidentity') {
    r.problems.push('Storage__credential must be "managedidentity" when set');
  }
  if (!connectionString) {
    r.problems.push(
      'Storage is not set: use Storage=UseDevelopmentStorage=true locally, or Storage__tableServiceUri + Storage__queueServiceUri (managed identity) in Azure',
    );
    return { kind: 'connection-string', connectionString: '' };
  }
  return { kind: 'connection-string', connectionString };
}

/**
 * The provider app of many-tenant deployments. Its certificate comes from a Key Vault reference
 * the Bicep always sets; until the operator creates the certificate in the vault the reference
 * does not resolve and the platform hands over the reference text itself. That is not an error
 * for a deployment without registry tenants, so it is kept as a problem to name when a tenant
 * needs the certificate, never as a configuration error.
 */
function readProviderApp(r: Reader): { appClientId: string | null; appCertificatePem: string | null; appCertificateProblem: string | null } {
  const appClientId = r.optional('PROVIDER_APP_CLIENT_ID');
  const pem = r.optional('PROVIDER_APP_CERTIFICATE');
  if (pem === null) return { appClientId, appCertificatePem: null, appCertificateProblem: null };
  if (pem.startsWith('@Microsoft.KeyVault(')) {
    return { appClientId, appCertificatePem: null, appCertificateProblem: 'PROVIDER_APP_CERTIFICATE is a Key Vault reference that did not resolve: create the certificate in the vault (docs/tenants.md)' };
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(pem) || !/PRIVATE KEY-----/.test(pem)) {
    // Never quote the value: it holds a private key.
    r.problems.push('PROVIDER_APP_CERTIFICATE must be PEM text with the private key and the certificate (a Key Vault certificate with content type application/x-pem-file)');
    return { appClientId, appCertificatePem: null, appCertificateProblem: null };
  }
  return { appClientId, appCertificatePem: pem, appCertificateProblem: null };
}

export function loadSettings(env: Env = process.env): Settings {
  const r = new Reader(env);
  const graphBaseUrl = r.string('GRAPH_BASE_URL', 'https://graph.microsoft.com').replace(/\/+$/, '');
  const auth = r.oneOf('GRAPH_AUTH', GRAPH_AUTH_MODES, 'managed-identity');
  try {
    const parsed = new URL(graphBaseUrl);
    if (parsed.protocol !== 'https:' && !isLoopbackUrl(graphBaseUrl)) {
      r.problems.push('GRAPH_BASE_URL must use https (http is allowed only for a loopback address)');
    }
  } catch {
    r.problems.push(`GRAPH_BASE_URL is not a URL`);
  }
  if (auth === 'none' && !isLoopbackUrl(graphBaseUrl)) {
    r.problems.push('GRAPH_AUTH=none is allowed only when GRAPH_BASE_URL points at a loopback address');
  }
  const clientId = r.optional('GRAPH_CLIENT_ID');
  const azureTenantId = r.optional('GRAPH_TENANT_ID');
  const clientSecret = r.optional('GRAPH_CLIENT_SECRET');
  const certificatePath = r.optional('GRAPH_CLIENT_CERTIFICATE_PATH');
  if (auth === 'client-secret' && (!clientId || !azureTenantId || !clientSecret)) {
    r.problems.push('GRAPH_AUTH=client-secret needs GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET');
  }
  if (auth === 'client-certificate' && (!clientId || !azureTenantId || !certificatePath)) {
    r.problems.push('GRAPH_AUTH=client-certificate needs GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_CERTIFICATE_PATH');
  }
  const provider = readProviderApp(r);

  const ruleIds = r
    .string('HUNT_RULES', 't1587-002')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const tenantId = r.string('TENANT_ID', 'default');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(tenantId)) r.problems.push('TENANT_ID must be 1-64 letters, digits, dot, dash or underscore');

  const hunt = {
    schedule: r.string('HUNT_SCHEDULE', '0 */10 * * * *'),
    ingestionDelayMs: r.raw('HUNT_INGESTION_DELAY_MINUTES') ? r.minutes('HUNT_INGESTION_DELAY_MINUTES', 5, { max: 24 * 60 }) : null,
    overlapMs: r.raw('HUNT_OVERLAP_MINUTES') ? r.minutes('HUNT_OVERLAP_MINUTES', 2, { max: 24 * 60 }) : null,
    initialLookbackMs: r.minutes('HUNT_INITIAL_LOOKBACK_MINUTES', 24 * 60, { min: 1, max: 30 * 24 * 60 }),
    backfillChunkMs: r.minutes('HUNT_BACKFILL_CHUNK_MINUTES', 6 * 60, { min: 1, max: 7 * 24 * 60 }),
    maxChunksPerCycle: r.number('HUNT_MAX_CHUNKS_PER_CYCLE', 4, { min: 1, max: 40 }),
    timespanMarginMs: r.minutes('HUNT_TIMESPAN_MARGIN_MINUTES', 24 * 60, { max: 7 * 24 * 60 }),
    cycleBudgetMs: r.number('HUNT_CYCLE_BUDGET_SECONDS', 240, { min: 10, max: 3600 }) * 1000,
    maxCallsPerMinute: r.number('HUNT_MAX_CALLS_PER_MINUTE', 45, { min: 1, max: 45 }),
    rowLimit: r.number('HUNT_ROW_LIMIT', 25_000, { min: 1, max: 100_000 }),
    minSplitWindowMs: r.number('HUNT_MIN_SPLIT_WINDOW_SECONDS', 60, { min: 1, max: 86_400 }) * 1000,
    leaseMs: r.number('HUNT_LEASE_SECONDS', 600, { min: 30, max: 3600 }) * 1000,
  };
  if (hunt.overlapMs !== null && hunt.overlapMs >= hunt.backfillChunkMs) {
    r.problems.push('HUNT_OVERLAP_MINUTES must be smaller than HUNT_BACKFILL_CHUNK_MINUTES');
  }

  const settings: Settings = {
    tenantId,
    ruleIds,
    hunt,
    graph: {
      baseUrl: graphBaseUrl,
      auth,
      clientId,
      azureTenantId,
      clientSecret,
      certificatePath,
      timeoutMs: r.number('GRAPH_TIMEOUT_SECONDS', 120, { min: 1, max: 600 }) * 1000,
    },
    storage: readStorage(r),
    tables: {
      checkpoints: r.tableName('CHECKPOINTS_TABLE', 'checkpoints'),
      incidents: r.tableName('INCIDENTS_TABLE', 'incidents'),
      allowlist: r.tableName('ALLOWLIST_TABLE', 'allowlist'),
      allowlistAudit: r.tableName('ALLOWLIST_AUDIT_TABLE', 'allowlistaudit'),
      deliveries: r.tableName('DELIVERIES_TABLE', 'deliveries'),
      recentSteps: r.tableName('RECENT_STEPS_TABLE', 'recentsteps'),
      recentFindings: r.tableName('RECENT_FINDINGS_TABLE', 'recentfindings'),
      tenants: r.tableName('TENANTS_TABLE', 'tenants'),
    },
    tenants: { jobsQueue: r.queueName('HUNT_JOBS_QUEUE', 'hunt-jobs'), ...provider },
    health: {
      failureThreshold: r.number('HEALTH_FAILURE_THRESHOLD', 3, { min: 1, max: 100 }),
      maxLagMs: r.minutes('HEALTH_MAX_LAG_MINUTES', 120, { min: 1 }),
    },
    incidents: {
      groupingWindowMs: r.minutes('INCIDENT_GROUPING_WINDOW_MINUTES', 8 * 60, { min: 1, max: 7 * 24 * 60 }),
      storyGapMs: r.minutes('INCIDENT_STORY_GAP_MINUTES', 60, { min: 1, max: 24 * 60 }),
      storyMaxSpanMs: r.minutes('INCIDENT_STORY_MAX_SPAN_MINUTES', 24 * 60, { min: 10, max: 7 * 24 * 60 }),
      chainWindowMs: r.minutes('INCIDENT_CHAIN_WINDOW_MINUTES', 120, { min: 1, max: 7 * 24 * 60 }),
      updateIntervalMs: r.minutes('INCIDENT_UPDATE_INTERVAL_MINUTES', 60, { min: 0, max: 7 * 24 * 60 }),
      // http only on loopback: the demo's local allowlist page (run --demo --serve).
      allowlistBaseUrl: r.httpsUrl('ALLOWLIST_BASE_URL', { allowLoopbackHttp: true }),
      portalBaseUrl: r.httpsUrl('DEFENDER_PORTAL_BASE_URL') ?? 'https://security.microsoft.com',
    },
    allowlist: {
      maxLifetimeDays: r.number('ALLOWLIST_MAX_LIFETIME_DAYS', 90, { min: 1, max: 3650 }),
      devPrincipal: r.optional('ALLOWLIST_DEV_PRINCIPAL'),
      signInPath: signInPathOf(r.optional('ALLOWLIST_SIGN_IN_PATH'), r.problems),
      previewLookbackDays: r.number('ALLOWLIST_PREVIEW_LOOKBACK_DAYS', 30, { min: 1, max: 90 }),
      maxSharePercent: r.number('ALLOWLIST_MAX_SHARE_PERCENT', 10, { min: 1, max: 100 }),
    },
    delivery: {
      queueName: r.queueName('NOTIFICATION_QUEUE', 'notifications'),
      channelsJson: r.raw('NOTIFY_CHANNELS'),
      digestThreshold: r.number('TEAMS_DIGEST_THRESHOLD', 10, { min: 1, max: 1000 }),
      // 8 = the standard schedule's 27 hours; fewer would give up within a day (issue #15 item 16).
      maxAttempts: r.number('DELIVERY_MAX_ATTEMPTS', 8, { min: 8, max: 20 }),
      timeoutMs: r.number('DELIVERY_TIMEOUT_SECONDS', 10, { min: 1, max: 120 }) * 1000,
      allowLoopbackForTests: r.raw('DELIVERY_ALLOW_LOOPBACK') === 'true',
      allowFolderChannels: r.raw('NOTIFY_ALLOW_FOLDER') === 'true',
    },
    retention: {
      incidentDays: r.number('RETENTION_INCIDENT_DAYS', DEFAULT_RETENTION.incidentDays, { min: 1, max: 3650 }),
      recentStepDays: r.number('RETENTION_RECENT_STEP_DAYS', DEFAULT_RETENTION.recentStepDays, { min: 1, max: 3650 }),
      runDays: r.number('RETENTION_RUN_DAYS', DEFAULT_RETENTION.runDays, { min: 1, max: 3650 }),
      deliveryDays: r.number('RETENTION_DELIVERY_DAYS', DEFAULT_RETENTION.deliveryDays, { min: 3, max: 3650 }),
      auditDays: r.number('RETENTION_AUDIT_DAYS', DEFAULT_RETENTION.auditDays, { min: 1, max: 36500 }),
    },
  };
  r.problems.push(...retentionProblems(settings.retention));
  refuseLocalOnlyInAzure(r);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return settings;
}

function refuseLocalOnlyInAzure(r: Reader): void {
  const marker = AZURE_PLATFORM_VARIABLES.find((name) => r.platform(name) !== undefined);
  if (!marker) return;
  for (const { name, isOn, purpose } of LOCAL_ONLY_SETTINGS) {
    const value = r.raw(name);
    if (value === undefined || !isOn(value)) continue;
    r.problems.push(`${name} is ${purpose} and is refused when the app runs in Azure (${marker} is set): remove the app setting`);
  }
}

/** A log-safe view: secrets and connection strings replaced by whether they are set. */
export function describeSettings(settings: Settings): Record<string, unknown> {
  return {
    tenantId: settings.tenantId,
    ruleIds: settings.ruleIds,
    hunt: settings.hunt,
    graph: {
      baseUrl: settings.graph.baseUrl,
      auth: settings.graph.auth,
      clientId: settings.graph.clientId,
      clientSecret: settings.graph.clientSecret ? '(set)' : null,
      certificatePath: settings.graph.certificatePath ? '(set)' : null,
      timeoutMs: settings.graph.timeoutMs,
    },
    storage:
      settings.storage.kind === 'identity'
        ? { kind: 'identity', tableServiceUri: settings.storage.tableServiceUri, queueServiceUri: settings.storage.queueServiceUri }
        : { kind: 'connection-string', value: '(set)' },
    tables: settings.tables,
    tenants: {
      jobsQueue: settings.tenants.jobsQueue,
      appClientId: settings.tenants.appClientId,
      appCertificate: settings.tenants.appCertificatePem ? '(set)' : settings.tenants.appCertificateProblem,
    },
    health: settings.health,
    incidents: settings.incidents,
    allowlist: { ...settings.allowlist },
    delivery: { ...settings.delivery, channelsJson: settings.delivery.channelsJson ? '(set)' : null },
  };
}

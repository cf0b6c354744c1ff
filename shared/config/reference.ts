/**
 * Every setting the app reads, with its default and meaning: the reference docs/settings.md's settings
 * table, local.settings.sample.json and the Bicep app settings are checked against
 * (test/unit/config/settingsConsistency.test.ts). `azure` says how a deployment provides it:
 * 'bicep' (set by infra/app/function.bicep), 'secret' (a Key Vault reference set by the Bicep),
 * 'optional' (left unset unless the operator needs it), 'never' (local development or tests only).
 */

export interface SettingReference {
  name: string;
  default: string;
  description: string;
  azure: 'bicep' | 'secret' | 'optional' | 'never';
}

export const SETTINGS_REFERENCE: readonly SettingReference[] = [
  { name: 'TENANT_ID', default: 'default', description: 'Logical tenant name for checkpoints, incidents and allowlist scope (letters, digits, . _ -)', azure: 'bicep' },
  { name: 'HUNT_RULES', default: 't1587-002', description: 'Comma-separated ids of the rules in rules/ to run each cycle', azure: 'bicep' },
  { name: 'HUNT_SCHEDULE', default: '0 */10 * * * *', description: 'NCRONTAB schedule of the hunt timer (required by the timer binding)', azure: 'bicep' },
  { name: 'HUNT_INGESTION_DELAY_MINUTES', default: "the rule's ingestionDelay (5)", description: 'Window end = now minus this, so events still being ingested wait for the next cycle', azure: 'optional' },
  { name: 'HUNT_OVERLAP_MINUTES', default: "the rule's overlap (2)", description: 'Each window starts this long before the previous end; duplicates are removed by finding id', azure: 'optional' },
  { name: 'HUNT_INITIAL_LOOKBACK_MINUTES', default: '1440', description: 'How far the very first cycle looks back', azure: 'optional' },
  { name: 'HUNT_BACKFILL_CHUNK_MINUTES', default: '360', description: 'Largest window one query covers when catching up after an outage', azure: 'optional' },
  { name: 'HUNT_MAX_CHUNKS_PER_CYCLE', default: '4', description: 'Backfill chunks per cycle; the rest continues next cycle', azure: 'optional' },
  { name: 'HUNT_TIMESPAN_MARGIN_MINUTES', default: '1440', description: "Graph Timespan = the window widened by this on both sides; events whose Timestamp precedes their ingestion by more are missed", azure: 'optional' },
  { name: 'HUNT_CYCLE_BUDGET_SECONDS', default: '240', description: 'Longest a cycle may wait (quota, backoff) before it ends without moving the checkpoint', azure: 'optional' },
  { name: 'HUNT_MAX_CALLS_PER_MINUTE', default: '45', description: "Pacing of Graph calls per tenant (Defender's limit is 45/minute)", azure: 'optional' },
  { name: 'HUNT_ROW_LIMIT', default: '25000', description: "Every query ends with '| take' this many rows; an answer that reaches it is split into smaller windows (bounds memory: 25,000 rows fit a 512 MB instance; Defender's own cap is 100,000)", azure: 'optional' },
  { name: 'HUNT_MIN_SPLIT_WINDOW_SECONDS', default: '60', description: 'Smallest window a truncated answer is split into before the cycle fails loudly', azure: 'optional' },
  { name: 'HUNT_LEASE_SECONDS', default: '600', description: 'How long a cycle holds the checkpoint lease (renewed at each window)', azure: 'optional' },
  { name: 'GRAPH_BASE_URL', default: 'https://graph.microsoft.com', description: 'Microsoft Graph endpoint: global, https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn (a loopback URL, for tests, is refused in Azure)', azure: 'bicep' },
  { name: 'GRAPH_AUTH', default: 'managed-identity', description: 'managed-identity | client-secret | client-certificate | default | none (none only for a loopback GRAPH_BASE_URL, and refused in Azure)', azure: 'bicep' },
  { name: 'GRAPH_CLIENT_ID', default: '(none)', description: 'Client id of the user-assigned managed identity, or of the app registration', azure: 'bicep' },
  { name: 'GRAPH_TENANT_ID', default: '(none)', description: 'Entra tenant id, for client-secret and client-certificate authentication', azure: 'optional' },
  { name: 'GRAPH_CLIENT_SECRET', default: '(none)', description: 'Client secret for GRAPH_AUTH=client-secret (a Key Vault reference in Azure)', azure: 'optional' },
  { name: 'GRAPH_CLIENT_CERTIFICATE_PATH', default: '(none)', description: 'PEM certificate with private key for GRAPH_AUTH=client-certificate', azure: 'optional' },
  { name: 'GRAPH_TIMEOUT_SECONDS', default: '120', description: 'Per-request timeout of a hunting query', azure: 'optional' },
  { name: 'Storage', default: '(none)', description: 'Connection string for tables and queues (UseDevelopmentStorage=true locally, refused in Azure); in Azure use the identity-based Storage__* settings', azure: 'never' },
  { name: 'Storage__tableServiceUri', default: '(none)', description: 'Table endpoint for identity-based storage (managed identity)', azure: 'bicep' },
  { name: 'Storage__queueServiceUri', default: '(none)', description: 'Queue endpoint for identity-based storage; also the deliver trigger connection', azure: 'bicep' },
  { name: 'Storage__credential', default: '(none)', description: 'managedidentity: tells the Functions host to use the identity for the queue trigger', azure: 'bicep' },
  { name: 'Storage__clientId', default: '(none)', description: 'Client id of the user-assigned identity used for storage', azure: 'bicep' },
  { name: 'AzureWebJobsStorage', default: '(none)', description: 'The Functions host storage; the app falls back to it when Storage is not set (local only; UseDevelopmentStorage=true is refused in Azure)', azure: 'never' },
  { name: 'CHECKPOINTS_TABLE', default: 'checkpoints', description: 'Checkpoints, leases, health state and run records', azure: 'optional' },
  { name: 'INCIDENTS_TABLE', default: 'incidents', description: 'Incidents (dedup, status, announcements)', azure: 'optional' },
  { name: 'RECENT_STEPS_TABLE', default: 'recentsteps', description: 'The story memory: open stories and their steps per device, so later findings join their incident across cycles', azure: 'optional' },
  { name: 'RECENT_FINDINGS_TABLE', default: 'recentfindings', description: 'Every finding of the last days (suppressed or not), for allowlist breadth and previews', azure: 'optional' },
  { name: 'ALLOWLIST_TABLE', default: 'allowlist', description: 'Allowlist entries and hit counters', azure: 'optional' },
  { name: 'ALLOWLIST_AUDIT_TABLE', default: 'allowlistaudit', description: 'Audit trail of every allowlist change', azure: 'optional' },
  { name: 'DELIVERIES_TABLE', default: 'deliveries', description: 'Delivery ledger (one row per notification and channel)', azure: 'optional' },
  { name: 'TENANTS_TABLE', default: 'tenants', description: "Tenant registry (many tenants), with each tenant's job status and shared Graph call counter", azure: 'optional' },
  { name: 'HUNT_JOBS_QUEUE', default: 'hunt-jobs', description: 'Queue of per-tenant hunt jobs the timer fans out when the tenant registry has tenants (poison queue: <name>-poison); also the huntTenant trigger', azure: 'bicep' },
  { name: 'PROVIDER_APP_CLIENT_ID', default: '(none)', description: "Many tenants: client id of the provider's multi-tenant app registration, admin-consented in each customer tenant", azure: 'bicep' },
  { name: 'PROVIDER_APP_CERTIFICATE', default: '(none)', description: "Many tenants: the provider app's certificate, PEM with private key (Key Vault reference to the certificate provider-app); unresolved until that certificate exists", azure: 'secret' },
  { name: 'HEALTH_FAILURE_THRESHOLD', default: '3', description: 'Failed cycles in a row that raise a health alert', azure: 'optional' },
  { name: 'HEALTH_MAX_LAG_MINUTES', default: '120', description: 'Checkpoint lag behind now that raises a health alert', azure: 'optional' },
  { name: 'INCIDENT_GROUPING_WINDOW_MINUTES', default: '480', description: 'Longest pause between two steps of one story (one actor, one device) that share a file, key, thumbprint, subject, parent process or script', azure: 'optional' },
  { name: 'INCIDENT_STORY_GAP_MINUTES', default: '60', description: 'Longest pause between two steps of one story that share nothing', azure: 'optional' },
  { name: 'INCIDENT_STORY_MAX_SPAN_MINUTES', default: '1440', description: 'Longest a story runs from its first step; the next step opens a new incident that names this one', azure: 'optional' },
  { name: 'INCIDENT_CHAIN_WINDOW_MINUTES', default: '120', description: 'Longest gap from a certificate creation to signing or a trust-store import in the same story that makes it a chain', azure: 'optional' },
  { name: 'INCIDENT_UPDATE_INTERVAL_MINUTES', default: '60', description: 'At most one update per incident in this interval (escalations go out at once)', azure: 'optional' },
  { name: 'ALLOWLIST_BASE_URL', default: '(none)', description: "Base URL of this function app, for the card's 'allowlist this signer' link", azure: 'bicep' },
  { name: 'DEFENDER_PORTAL_BASE_URL', default: 'https://security.microsoft.com', description: 'Defender portal origin for device and hunting links', azure: 'optional' },
  { name: 'ALLOWLIST_MAX_LIFETIME_DAYS', default: '90', description: 'Longest lifetime of an allowlist entry that is not explicitly permanent', azure: 'optional' },
  { name: 'ALLOWLIST_PREVIEW_LOOKBACK_DAYS', default: '30', description: 'Days of stored findings an allowlist breadth estimate and preview look at (also how long they are kept)', azure: 'optional' },
  { name: 'ALLOWLIST_MAX_SHARE_PERCENT', default: '10', description: 'An allowlist entry that would hide more than this share of recent findings needs an explicit, audited confirmation', azure: 'optional' },
  { name: 'ALLOWLIST_SIGN_IN_PATH', default: '(none)', description: 'Where the allowlist page sends a browser without a session: App Service authentication\'s login path (/.auth/login/aad), with post_login_redirect_uri back to the page; unset: the page answers 401 (the API always does)', azure: 'bicep' },
  { name: 'ALLOWLIST_DEV_PRINCIPAL', default: '(none)', description: 'Local development only: a principal with all allowlist roles when no x-ms-client-principal header is present; refused in Azure', azure: 'never' },
  { name: 'NOTIFICATION_QUEUE', default: 'notifications', description: 'Queue of notifications (poison queue: <name>-poison); also the deliver trigger', azure: 'bicep' },
  { name: 'NOTIFY_CHANNELS', default: '(none)', description: 'JSON array of channels {id, type: teams|webhook, url, minSeverity, kinds, secret}: a secret (Key Vault reference)', azure: 'secret' },
  { name: 'TEAMS_DIGEST_THRESHOLD', default: '10', description: 'Incidents per cycle above which a Teams channel gets one digest card', azure: 'optional' },
  { name: 'DELIVERY_MAX_ATTEMPTS', default: '8', description: 'Delivery attempts of one notification (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h apart: about 27 hours; at least 8) before the poison queue and a health alert', azure: 'optional' },
  { name: 'RETENTION_INCIDENT_DAYS', default: '90', description: 'Closed incidents (nothing pending) neither seen nor changed for this long are purged; at least 35 (longer than a backfill reaches)', azure: 'optional' },
  { name: 'RETENTION_RECENT_STEP_DAYS', default: '7', description: 'Remembered chain steps are purged this long after they expired', azure: 'optional' },
  { name: 'RETENTION_RUN_DAYS', default: '30', description: 'Run records (one per cycle) older than this are purged', azure: 'optional' },
  { name: 'RETENTION_DELIVERY_DAYS', default: '30', description: 'Delivered and superseded ledger rows older than this are purged (failed and parked ones are kept as long as audit rows; held ones until delivered)', azure: 'optional' },
  { name: 'RETENTION_AUDIT_DAYS', default: '400', description: 'Allowlist audit records older than this are purged, except the one each entry stands on; must be the longest retention', azure: 'optional' },
  { name: 'DELIVERY_TIMEOUT_SECONDS', default: '10', description: 'Per-attempt timeout of a delivery', azure: 'optional' },
  { name: 'DELIVERY_ALLOW_LOOPBACK', default: 'false', description: 'Tests only: allow http and loopback receivers; refused in Azure', azure: 'never' },
  { name: 'NOTIFY_ALLOW_FOLDER', default: 'false', description: 'Demo only: allow the folder channel type; refused in Azure', azure: 'never' },
];

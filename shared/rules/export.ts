/**
 * A rule written for native deployment where teams already run detections: a Microsoft Sentinel
 * scheduled analytics rule (the YAML of the Azure-Sentinel repository's Detections folder) and a
 * Microsoft Defender XDR custom detection (the JSON body of Graph
 * `POST /beta/security/rules/detectionRules`). Pure: rule in, text or object out. The window
 * placeholders become the platform's own lookback (`ago(...)` to `now()`); the query is otherwise
 * the rule's, comment lines dropped (Sentinel caps a query at 10,000 characters).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { WINDOW_END_PLACEHOLDER, WINDOW_START_PLACEHOLDER, type RuleDefinition } from './rule';

export const EXPORT_TARGETS = ['sentinel', 'defender'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** Sentinel's limit on a scheduled rule's query (Azure-Sentinel template validation). */
export const SENTINEL_MAX_QUERY_LENGTH = 10_000;

/** The columns a Defender custom detection needs in its results (Microsoft's custom detection docs). */
export const DEFENDER_REQUIRED_COLUMNS = ['Timestamp', 'DeviceId', 'ReportId'] as const;

/**
 * Defender custom detection frequencies (Graph ruleSchedule.period, "0" is continuous and takes
 * only simple queries) and the data each run looks back over (Microsoft's custom detection docs).
 */
const DEFENDER_SCHEDULES = [
  { period: '1H', everyMs: 3_600_000, lookback: '4h' },
  { period: '3H', everyMs: 3 * 3_600_000, lookback: '12h' },
  { period: '12H', everyMs: 12 * 3_600_000, lookback: '2d' },
  { period: '24H', everyMs: 24 * 3_600_000, lookback: '30d' },
] as const;

/** KQL / Sentinel timespan text for a duration in milliseconds (`10m`, `1h`, `2d`). */
export function timespanText(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/**
 * The rule's query for a platform that schedules it: the window is the platform's lookback up to
 * now (still on ingestion_time(), so late events are caught), full-line comments except the
 * `// Rule <id>:` marker are dropped, and nothing else changes.
 */
export function platformQuery(rule: Pick<RuleDefinition, 'id' | 'query'>, lookback: string): string {
  const lines = rule.query.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    if (line.includes(WINDOW_START_PLACEHOLDER)) out.push(`let WindowStart = ago(${lookback});`);
    else if (line.includes(WINDOW_END_PLACEHOLDER)) out.push('let WindowEnd = now();');
    else if (/^\s*\/\//.test(line) && !/^\/\/ Rule /.test(line)) continue;
    else if (line.trim() !== '') out.push(line.replace(/\s+$/, ''));
  }
  return `${out.join('\n')}\n`;
}

/** A stable GUID for a rule on a platform, so that re-exports update the same rule. */
export function exportId(ruleId: string): string {
  const hex = createHash('sha1').update(`codesign-hunt/${ruleId}`).digest('hex');
  // RFC 4122 layout, version 5 (name-based, SHA-1), variant 10.
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** ATT&CK tactic name as Sentinel and Defender spell it (`Defense Evasion` → `DefenseEvasion`). */
const tacticId = (tactic: string): string => tactic.replace(/[^A-Za-z]/g, '');

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** Tables from the Defender XDR connector that the hunt itself (not only a pivot) reads. */
function queriedTables(rule: Pick<RuleDefinition, 'query' | 'requiredTables' | 'optionalTables'>): string[] {
  return [...rule.requiredTables, ...rule.optionalTables].filter((t) => new RegExp(`\\b${t}\\b`).test(rule.query));
}

export interface SentinelRule {
  id: string;
  name: string;
  description: string;
  severity: string;
  requiredDataConnectors: { connectorId: string; dataTypes: string[] }[];
  queryFrequency: string;
  queryPeriod: string;
  triggerOperator: 'gt';
  triggerThreshold: number;
  tactics: string[];
  relevantTechniques: string[];
  query: string;
  entityMappings: { entityType: string; fieldMappings: { identifier: string; columnName: string }[] }[];
  customDetails: Record<string, string>;
  eventGroupingSettings: { aggregationKind: 'AlertPerResult' };
  version: string;
  kind: 'Scheduled';
}

/**
 * The Sentinel scheduled analytics rule: runs every schedule interval over the rule's lookback
 * (at least the interval), one alert per result, entities for the host, the account, the tool's
 * process and its file, and the branch and flags as custom details.
 */
export function sentinelRule(rule: RuleDefinition): SentinelRule {
  const periodMs = Math.max(rule.lookback.ms, rule.schedule.interval.ms);
  const queryPeriod = timespanText(periodMs);
  return {
    id: exportId(rule.id),
    name: rule.name,
    description: rule.description,
    severity: capitalise(rule.severity),
    requiredDataConnectors: [{ connectorId: 'MicrosoftThreatProtection', dataTypes: queriedTables(rule) }],
    queryFrequency: timespanText(rule.schedule.interval.ms),
    queryPeriod,
    triggerOperator: 'gt',
    triggerThreshold: 0,
    tactics: [...new Set(rule.attack.map((a) => tacticId(a.tactic)))],
    relevantTechniques: rule.attack.map((a) => a.id),
    query: platformQuery(rule, queryPeriod),
    entityMappings: [
      { entityType: 'Host', fieldMappings: [{ identifier: 'HostName', columnName: 'DeviceName' }] },
      {
        entityType: 'Account',
        fieldMappings: [
          { identifier: 'Name', columnName: 'AccountName' },
          { identifier: 'NTDomain', columnName: 'AccountDomain' },
        ],
      },
      {
        entityType: 'Process',
        fieldMappings: [
          { identifier: 'ProcessId', columnName: 'ProcessId' },
          { identifier: 'CommandLine', columnName: 'ProcessCommandLine' },
        ],
      },
      {
        entityType: 'File',
        fieldMappings: [
          { identifier: 'Name', columnName: 'FileName' },
          { identifier: 'Directory', columnName: 'FolderPath' },
        ],
      },
    ],
    customDetails: {
      DetectionBranch: 'DetectionBranch',
      SuspiciousParent: 'IsSuspiciousParent',
      TempLocation: 'IsTempLocation',
      ParentProcess: 'InitiatingProcessFileName',
      GrandparentProcess: 'InitiatingProcessParentFileName',
    },
    eventGroupingSettings: { aggregationKind: 'AlertPerResult' },
    version: rule.version,
    kind: 'Scheduled',
  };
}

/** The Sentinel rule as YAML, with a header saying where it came from. */
export function sentinelRuleYaml(rule: RuleDefinition): string {
  const header = `# Microsoft Sentinel scheduled analytics rule exported by codesign-hunt from rules/${rule.id} (version ${rule.version}).\n`;
  return header + stringify(sentinelRule(rule), { lineWidth: 0, blockQuote: 'literal' });
}

/** Defender alert categories an ATT&CK tactic maps onto; anything else is SuspiciousActivity. */
const DEFENDER_CATEGORIES = new Set([
  'InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion', 'CredentialAccess', 'Discovery',
  'LateralMovement', 'Collection', 'CommandAndControl', 'Exfiltration', 'Impact',
]);

export interface DefenderDetectionRule {
  displayName: string;
  isEnabled: boolean;
  queryCondition: { queryText: string };
  schedule: { period: string };
  detectionAction: {
    alertTemplate: {
      title: string;
      description: string;
      severity: string;
      category: string;
      recommendedActions: string | null;
      mitreTechniques: string[];
      impactedAssets: { '@odata.type': string; identifier: string }[];
    };
    organizationalScope: null;
    responseActions: [];
  };
}

/**
 * The Defender XDR custom detection: the shortest Defender frequency not shorter than the rule's
 * interval (at least hourly: continuous runs take only simple queries), the data that frequency
 * looks back over as the window, the device and the account as impacted assets, no automatic
 * response (a human decides), the triage steps as recommended actions.
 */
export function defenderDetectionRule(rule: RuleDefinition): DefenderDetectionRule {
  const schedule = DEFENDER_SCHEDULES.find((s) => s.everyMs >= rule.schedule.interval.ms) ?? DEFENDER_SCHEDULES[DEFENDER_SCHEDULES.length - 1]!;
  const category = rule.attack.map((a) => tacticId(a.tactic)).find((t) => DEFENDER_CATEGORIES.has(t)) ?? 'SuspiciousActivity';
  return {
    displayName: rule.name,
    isEnabled: true,
    queryCondition: { queryText: platformQuery(rule, schedule.lookback) },
    schedule: { period: schedule.period },
    detectionAction: {
      alertTemplate: {
        title: rule.name,
        description: rule.description,
        severity: rule.severity,
        category,
        recommendedActions: rule.triage.map((step, i) => `${i + 1}. ${step}`).join('\n'),
        mitreTechniques: rule.attack.map((a) => a.id),
        impactedAssets: [
          { '@odata.type': '#microsoft.graph.security.impactedDeviceAsset', identifier: 'deviceId' },
          { '@odata.type': '#microsoft.graph.security.impactedUserAsset', identifier: 'accountName' },
        ],
      },
      organizationalScope: null,
      responseActions: [],
    },
  };
}

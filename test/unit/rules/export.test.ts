/**
 * `export-rule` (shared/rules/export.ts): every rule as a Sentinel scheduled analytics rule and as
 * a Defender custom detection. Both queries pass the Kusto parser against the Advanced Hunting
 * schema and keep every branch of the rule; the window is the platform's lookback. The Azure-Sentinel
 * repository publishes no JSON Schema for its Detections YAML (its checks are C# models under
 * .script/tests/detectionTemplateSchemaValidation), so the Sentinel YAML is checked against the
 * constraints those models state: required fields, severity and trigger enums, frequency and
 * period between 5 minutes and 14 days with period >= frequency, a query of at most 10,000
 * characters, 1-5 entity mappings of 1-3 fields with known identifiers, custom details keys.
 */
import { parse } from 'yaml';
import { analyzeKql } from '../../../shared/kusto/validate';
import { DEFENDER_REQUIRED_COLUMNS, defenderDetectionRule, exportId, platformQuery, sentinelRuleYaml, SENTINEL_MAX_QUERY_LENGTH, timespanText } from '../../../shared/rules/export';
import { loadRules } from '../../../shared/rules/loadRules';
import type { RuleDefinition } from '../../../shared/rules/rule';

const rules = loadRules();

/** Identifiers the Azure-Sentinel template validation accepts for the entity types we map. */
const SENTINEL_IDENTIFIERS: Record<string, string[]> = {
  Host: ['DnsDomain', 'NTDomain', 'HostName', 'FullName', 'NetBiosName', 'AzureID', 'OMSAgentID', 'OSFamily', 'OSVersion', 'IsDomainJoined'],
  Account: ['Name', 'FullName', 'NTDomain', 'DnsDomain', 'UPNSuffix', 'Sid', 'AadTenantId', 'AadUserId', 'PUID', 'IsDomainJoined', 'DisplayName', 'ObjectGuid'],
  Process: ['ProcessId', 'CommandLine', 'ElevationToken', 'CreationTimeUtc'],
  File: ['Directory', 'Name'],
};
const TACTICS = [
  'Reconnaissance', 'ResourceDevelopment', 'InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion',
  'CredentialAccess', 'Discovery', 'LateralMovement', 'Collection', 'CommandAndControl', 'Exfiltration', 'Impact',
];

function sentinelTimespanMs(text: string): number {
  const m = /^(\d+)([mhd])$/.exec(text);
  if (!m) throw new Error(`not a Sentinel timespan: ${text}`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

function sentinelProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const field of ['id', 'name', 'description', 'severity', 'requiredDataConnectors', 'queryFrequency', 'queryPeriod', 'triggerOperator', 'triggerThreshold', 'tactics', 'relevantTechniques', 'query', 'entityMappings', 'version', 'kind']) {
    if (doc[field] === undefined) problems.push(`${field} is missing`);
  }
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(String(doc.id))) problems.push('id is not a GUID');
  if (String(doc.name).length > 256) problems.push('name longer than 256');
  if (String(doc.description).length > 5000) problems.push('description longer than 5000');
  if (!['Informational', 'Low', 'Medium', 'High'].includes(String(doc.severity))) problems.push('severity');
  if (!['gt', 'lt', 'eq', 'ne'].includes(String(doc.triggerOperator))) problems.push('triggerOperator');
  const threshold = Number(doc.triggerThreshold);
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 10_000) problems.push('triggerThreshold');
  const frequency = sentinelTimespanMs(String(doc.queryFrequency));
  const period = sentinelTimespanMs(String(doc.queryPeriod));
  for (const [name, ms] of [['queryFrequency', frequency], ['queryPeriod', period]] as const) {
    if (ms < 5 * 60_000 || ms > 14 * 86_400_000) problems.push(`${name} outside 5m..14d`);
  }
  if (period < frequency) problems.push('queryPeriod shorter than queryFrequency');
  const query = String(doc.query);
  if (query.length < 1 || query.length > SENTINEL_MAX_QUERY_LENGTH) problems.push(`query is ${query.length} characters`);
  for (const tactic of doc.tactics as string[]) if (!TACTICS.includes(tactic)) problems.push(`tactic ${tactic}`);
  for (const technique of doc.relevantTechniques as string[]) if (!/^T\d{4}(\.\d{3})?$/.test(technique)) problems.push(`technique ${technique}`);
  const mappings = doc.entityMappings as { entityType: string; fieldMappings: { identifier: string; columnName: string }[] }[];
  if (mappings.length < 1 || mappings.length > 5) problems.push('entityMappings count');
  for (const mapping of mappings) {
    const known = SENTINEL_IDENTIFIERS[mapping.entityType];
    if (!known) problems.push(`entity type ${mapping.entityType}`);
    if (mapping.fieldMappings.length < 1 || mapping.fieldMappings.length > 3) problems.push(`${mapping.entityType} field mappings count`);
    for (const field of mapping.fieldMappings) if (!known?.includes(field.identifier)) problems.push(`${mapping.entityType}.${field.identifier}`);
  }
  const details = (doc.customDetails ?? {}) as Record<string, string>;
  if (Object.keys(details).length > 20) problems.push('more than 20 custom details');
  for (const [key, value] of Object.entries(details)) {
    if (!/^[a-zA-Z]+\w*$/.test(key) || key.length > 20) problems.push(`custom detail key ${key}`);
    if (!/^[a-zA-Z_]+\w*$/.test(value)) problems.push(`custom detail value ${value}`);
  }
  if (doc.kind !== 'Scheduled') problems.push('kind');
  return problems;
}

function resultColumns(query: string): string[] {
  const { diagnostics, resultColumns } = analyzeKql(query);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return (resultColumns ?? []).map((c) => c.name);
}

function expectEveryBranch(rule: RuleDefinition, query: string): void {
  for (const branch of rule.branches) expect({ branch: branch.id, kept: query.includes(`"${branch.id}"`) }).toEqual({ branch: branch.id, kept: true });
  // Every condition line of the rule's query is still there, in order.
  const code = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('//') && !l.includes('{{'));
  expect(code(query).filter((l) => !l.startsWith('let Window'))).toEqual(code(rule.query));
}

describe.each(rules.map((r) => [r.id, r] as const))('%s', (_id, rule) => {
  it('exports a Sentinel scheduled analytics rule that fits the Azure-Sentinel template constraints', () => {
    const text = sentinelRuleYaml(rule);
    const doc = parse(text) as Record<string, unknown>;
    expect(sentinelProblems(doc)).toEqual([]);
    expect(doc.id).toBe(exportId(rule.id));
    expect(doc.queryFrequency).toBe(timespanText(rule.schedule.interval.ms));
    const query = String(doc.query);
    expect(query).toContain(`let WindowStart = ago(${String(doc.queryPeriod)});`);
    expect(query).toContain('let WindowEnd = now();');
    expect(query).not.toContain('{{');
    const columns = resultColumns(query);
    const mapped = (doc.entityMappings as { fieldMappings: { columnName: string }[] }[]).flatMap((m) => m.fieldMappings.map((f) => f.columnName));
    for (const column of [...mapped, ...Object.values(doc.customDetails as Record<string, string>)]) expect(columns).toContain(column);
    expectEveryBranch(rule, query);
  });

  it('exports a Defender custom detection with the columns a custom detection needs', () => {
    const body = defenderDetectionRule(rule);
    expect(['0', '1H', '3H', '12H', '24H']).toContain(body.schedule.period);
    const query = body.queryCondition.queryText;
    expect(query).toContain('let WindowStart = ago(4h);');
    const columns = resultColumns(query);
    for (const column of DEFENDER_REQUIRED_COLUMNS) expect(columns).toContain(column);
    expect(['informational', 'low', 'medium', 'high']).toContain(body.detectionAction.alertTemplate.severity);
    expect(body.detectionAction.alertTemplate.mitreTechniques).toEqual(rule.attack.map((a) => a.id));
    expect(body.detectionAction.alertTemplate.impactedAssets.map((a) => a.identifier)).toEqual(['deviceId', 'accountName']);
    expect(body.detectionAction.responseActions).toEqual([]);
    expectEveryBranch(rule, query);
    // The body is plain JSON (what Graph receives).
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });
});

it('replaces only the window lines and drops comments', () => {
  const query = platformQuery({ id: 'x', query: 'let WindowStart = datetime({{WindowStart}});\nlet WindowEnd = datetime({{WindowEnd}});\n// Rule x: marker\n// a comment\nT\n  // indented\n| where A // trailing stays\n' }, '2h');
  expect(query).toBe('let WindowStart = ago(2h);\nlet WindowEnd = now();\n// Rule x: marker\nT\n| where A // trailing stays\n');
  expect(timespanText(600_000)).toBe('10m');
  expect(timespanText(3_600_000)).toBe('1h');
  expect(timespanText(2 * 86_400_000)).toBe('2d');
  expect(exportId('t1587-002')).toBe(exportId('t1587-002'));
  expect(exportId('t1587-002')).not.toBe(exportId('cert-key-files'));
});

/**
 * The operations queries (infra/queries/*.kql) and the alert rules built from them
 * (infra/app/alerts.bicep): every query is valid KQL for the Application Insights `traces` table
 * (checked with the Kusto language service), the lines alerts.bicep replaces exist, and the log
 * lines the queries look for are still the ones the app writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadKustoBridge, type KustoGlobals } from '../../../shared/kusto/bridge';

const root = path.resolve(__dirname, '../../..');
const queriesDir = path.join(root, 'infra', 'queries');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

/** The Application Insights `traces` columns the queries use (and a few neighbours). */
const TRACES = {
  name: 'traces',
  columns: [
    { name: 'timestamp', type: 'datetime' },
    { name: 'message', type: 'string' },
    { name: 'severityLevel', type: 'int' },
    { name: 'itemType', type: 'string' },
    { name: 'customDimensions', type: 'dynamic' },
    { name: 'operation_Name', type: 'string' },
    { name: 'operation_Id', type: 'string' },
    { name: 'cloud_RoleName', type: 'string' },
    { name: 'itemCount', type: 'int' },
  ],
};

/** What alerts.bicep does to each file: [file, [[exact line, replacement], ...]]. */
const REPLACEMENTS: [string, [string, string][]][] = [
  [
    'hunt-stopped.kql',
    [
      ['let expectedRules = dynamic(["t1587-002"]);', 'let expectedRules = dynamic(["t1587-002","second-rule"]);'],
      ['let silence = 30m;', 'let silence = 120m;'],
    ],
  ],
  ['hunt-unhealthy.kql', [['let maxLag = 120m;', 'let maxLag = 240m;']]],
  ['delivery-failures.kql', []],
  ['tenant-lag.kql', [['let maxLag = 30m;', 'let maxLag = 45m;']]],
  ['allowlist-change.kql', []],
];

let bridge: ReturnType<typeof loadKustoBridge>;
let globals: KustoGlobals;

function errorsOf(query: string): string[] {
  return bridge
    .analyze(query, globals, { analyzers: false })
    .diagnostics.filter((d) => d.severity === 'Error')
    .map((d) => `${d.code} ${d.message} at ${d.start}: ${query.slice(d.start, d.start + d.length)}`);
}

beforeAll(() => {
  bridge = loadKustoBridge();
  globals = bridge.createGlobals('ApplicationInsights', [TRACES]);
}, 60_000);

test('every query in infra/queries is valid KQL for the traces table', () => {
  const files = fs.readdirSync(queriesDir).filter((f) => f.endsWith('.kql'));
  expect(files.sort()).toEqual(['allowlist-change.kql', 'delivery-failures.kql', 'hunt-cycles.kql', 'hunt-stopped.kql', 'hunt-unhealthy.kql', 'tenant-lag.kql']);
  for (const file of files) {
    expect({ file, errors: errorsOf(fs.readFileSync(path.join(queriesDir, file), 'utf8')) }).toEqual({ file, errors: [] });
  }
});

test('alerts.bicep loads each alert query and replaces lines that exist exactly once; the result stays valid', () => {
  const bicep = read('infra/app/alerts.bicep');
  for (const [file, replacements] of REPLACEMENTS) {
    expect(bicep).toContain(`loadTextContent('../queries/${file}')`);
    let query = fs.readFileSync(path.join(queriesDir, file), 'utf8');
    for (const [line, replacement] of replacements) {
      expect(bicep).toContain(`'${line}'`);
      expect(query.split(line).length - 1).toBe(1);
      query = query.replace(line, replacement);
    }
    expect({ file, errors: errorsOf(query) }).toEqual({ file, errors: [] });
  }
});

test('the alert rules are log alerts on Application Insights that fire on any returned row', () => {
  const bicep = read('infra/app/alerts.bicep');
  expect(bicep).toContain("'Microsoft.Insights/scheduledQueryRules@2023-12-01'");
  expect(bicep).toMatch(/scopes: \[\s*applicationInsightsId\s*\]/);
  expect(bicep).toMatch(/timeAggregation: 'Count'\s*operator: 'GreaterThan'\s*threshold: 0/);
  expect(bicep.match(/suffix: '([a-z-]+)'/g)).toEqual(["suffix: 'hunt-stopped'", "suffix: 'hunt-unhealthy'", "suffix: 'delivery-failures'", "suffix: 'tenant-lag'", "suffix: 'allowlist-change'"]);
});

describe('the log lines the queries match are the ones the app writes', () => {
  test('cycle summary: "hunt <ruleId> <outcome>: ..." followed by the run record as JSON', () => {
    expect(read('shared/hunt/cycle.ts')).toContain('`hunt ${run.ruleId} ${run.outcome}: ');
    const outcomes = /export type RunOutcome =([^;]+);/.exec(read('shared/hunt/runRecord.ts'))?.[1] ?? '';
    expect([...outcomes.matchAll(/'([a-z]+)'/g)].map((m) => m[1]).sort()).toEqual(['failed', 'partial', 'skipped', 'succeeded', 'throttled']);
    for (const file of ['hunt-stopped.kql', 'hunt-unhealthy.kql', 'hunt-cycles.kql', 'tenant-lag.kql']) {
      expect(fs.readFileSync(path.join(queriesDir, file), 'utf8')).toMatch(/\^hunt (\(\\S\+\) |\\S\+ )\((succeeded\|partial|succeeded\|partial\|skipped\|throttled\|failed)\):/);
    }
    // The JSON the "behind" check parses: contextLogger appends the properties as JSON text.
    expect(read('shared/app/logger.ts')).toMatch(/info: \(message, properties\) => context\.log\(message, properties \? JSON\.stringify\(properties\) : ''\)/);
    const summary = /function logSummary[\s\S]*?\n}/.exec(read('shared/hunt/cycle.ts'))?.[0] ?? '';
    for (const field of ['checkpointAfter', 'runId', 'error', '...run.counts', 'tenantId: run.tenantId']) expect(summary).toContain(field);
  });

  test('health alerts: "HUNT_HEALTH_ALERT: Hunting <ruleId> ..." logged as an error', () => {
    const notifications = read('shared/app/notifications.ts');
    expect(notifications).toContain("export const HEALTH_ALERT_MARKER = 'HUNT_HEALTH_ALERT';");
    expect(notifications).toContain('else log.error(`${HEALTH_ALERT_MARKER}: ${payload.summary}`, fields);');
    expect(notifications).toContain('`Hunting ${event.ruleId} is unhealthy');
  });

  test('delivery: "health alert <code>: ..." codes and poison-queue lines', () => {
    // Raised by the deliverer and by channel recovery, logged by shared/notify/alerts.ts.
    const deliver = ['shared/notify/deliver.ts', 'shared/notify/recovery.ts'].map(read).join('\n');
    expect(read('shared/notify/alerts.ts')).toContain('log.error(`health alert ${health.code}: ${health.summary}`');
    const query = fs.readFileSync(path.join(queriesDir, 'delivery-failures.kql'), 'utf8');
    // Every health alert the delivery function raises (code followed by level: 'error').
    const raised = [...new Set([...deliver.matchAll(/code: '([a-z-]+)',\n\s+level: 'error'/g)].map((m) => m[1]!))].sort();
    expect(raised).toEqual(['channel-gone', 'channel-paused', 'channel-unreachable', 'delivery-failed', 'delivery-uncertain', 'delivery-unknown-channel']);
    for (const code of raised) expect(query).toContain(code);
    expect(deliver).toContain("'delivery failed permanently; moved to the poison queue'");
    expect(read('functions/deliver.ts')).toContain("'malformed notification message moved to the poison queue'");
  });
});

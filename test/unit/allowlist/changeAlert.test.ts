/**
 * Issue #15 item 9: an Azure Monitor alert fires on every allowlist change. The query is valid KQL
 * for the Application Insights traces table, alerts.bicep loads it, and the marker it looks for is
 * the one the app logs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALLOWLIST_CHANGE_MARKER } from '../../../shared/allowlist/notifier';
import { loadKustoBridge } from '../../../shared/kusto/bridge';

const root = path.resolve(__dirname, '../../..');
const query = () => fs.readFileSync(path.join(root, 'infra/queries/allowlist-change.kql'), 'utf8');

test('the allowlist-change query is valid KQL on traces and selects the logged marker', () => {
  const bridge = loadKustoBridge();
  const globals = bridge.createGlobals('ApplicationInsights', [
    { name: 'traces', columns: [{ name: 'timestamp', type: 'datetime' }, { name: 'message', type: 'string' }, { name: 'severityLevel', type: 'int' }, { name: 'customDimensions', type: 'dynamic' }] },
  ]);
  const errors = bridge.analyze(query(), globals, { analyzers: false }).diagnostics.filter((d) => d.severity === 'Error');
  expect(errors).toEqual([]);
  expect(query()).toContain(`"[${ALLOWLIST_CHANGE_MARKER}]"`);
}, 60_000);

test('alerts.bicep ships a rule on it', () => {
  const bicep = fs.readFileSync(path.join(root, 'infra/app/alerts.bicep'), 'utf8');
  expect(bicep).toContain("loadTextContent('../queries/allowlist-change.kql')");
  expect(bicep).toContain("suffix: 'allowlist-change'");
});

/**
 * The embedded default: everything `run --demo` needs to run a real cycle on a machine with no
 * Azure account and no network. In-memory Azurite from node_modules, the bundled samples of hunting
 * results (one per rule: the process rule's sample-hunting-results.json and samples/<ruleId>.json
 * for the companion rules) served over HTTP by a local Graph server (answering each rule's query
 * with its own sample, only the rows of the window the query asks for), every rule in rules/
 * enabled, a fixed demo clock so repeated runs see the same windows, a small seeded allowlist,
 * and a folder channel that writes the exact Teams and webhook payloads.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { normaliseHuntingResults } from '../hunting/graphClient';
import { startLocalGraphServer, type LocalGraphServer } from '../hunting/replaySource';
import type { HuntingQueryResults } from '../hunting/types';
import { loadRules } from '../rules/loadRules';
import { startAzurite, type AzuriteInstance } from '../storage/azurite';
import { rowsForRuleQuery } from './windowedReplay';

/** The sample's "now": its rows span the 24 hours before. */
export const DEMO_NOW = new Date('2026-11-26T12:00:00.000Z');
export const DEMO_TENANT = 'contoso-demo';
/** The folder channel's secret (demo only; signs the webhook files so they can be verified). */
export const DEMO_WEBHOOK_SECRET = 'whsec_ZGVtby1vbmx5LXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=';

/** The rule whose sample is sample-hunting-results.json (and the default of HUNT_RULES). */
export const DEMO_PROCESS_RULE = 't1587-002';

/** The demo's source folder: next to this file under ts-jest, shared/demo/ of the project from dist/. */
function demoSourcePath(...parts: string[]): string {
  const here = join(__dirname, ...parts);
  return existsSync(here) ? here : resolve(__dirname, '..', '..', '..', 'shared', 'demo', ...parts);
}

/** The process rule's (t1587-002) sample. */
export function loadDemoSample(): HuntingQueryResults {
  return normaliseHuntingResults(JSON.parse(readFileSync(demoSourcePath('sample-hunting-results.json'), 'utf8')));
}

/**
 * Every rule's sample by rule id: t1587-002's from sample-hunting-results.json, the others from
 * samples/<ruleId>.json.
 */
export function loadDemoSamples(): Map<string, HuntingQueryResults> {
  const samples = new Map<string, HuntingQueryResults>([[DEMO_PROCESS_RULE, loadDemoSample()]]);
  const dir = demoSourcePath('samples');
  if (!existsSync(dir)) return samples;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    samples.set(basename(file, '.json'), normaliseHuntingResults(JSON.parse(readFileSync(join(dir, file), 'utf8'))));
  }
  return samples;
}

/** Every rule in rules/, the process rule first: the demo runs them all. */
export function demoRuleIds(): string[] {
  const ids = loadRules().map((r) => r.id);
  return [...ids.filter((id) => id === DEMO_PROCESS_RULE), ...ids.filter((id) => id !== DEMO_PROCESS_RULE)];
}

export interface DemoEnvironment {
  env: Record<string, string>;
  graph: LocalGraphServer;
  azurite: AzuriteInstance | null;
  outDir: string;
  stop(): Promise<void>;
}

/**
 * Starts what the demo needs. With `storage` (a connection string, e.g. an Azurite you keep
 * running) state survives between runs, so a second run shows that nothing is announced twice.
 */
export async function startDemoEnvironment(options: { outDir: string; storage?: string }): Promise<DemoEnvironment> {
  const samples = loadDemoSamples();
  const azurite = options.storage ? null : await startAzurite();
  const graph = await startLocalGraphServer(samples.get(DEMO_PROCESS_RULE) ?? { schema: [], results: [] }, {
    respond: (request) => {
      const rows = rowsForRuleQuery(samples, request.query ?? '', DEMO_PROCESS_RULE);
      return {
        status: 200,
        body: {
          '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
          schema: rows.schema,
          results: rows.results,
        },
      };
    },
  });
  const outDir = resolve(options.outDir);
  const channels = [
    { id: 'soc-teams', type: 'folder', dir: join(outDir, 'notifications'), minSeverity: 'low', kinds: ['incident', 'health', 'allowlist-change'], secret: DEMO_WEBHOOK_SECRET },
  ];
  const env: Record<string, string> = {
    Storage: options.storage ?? azurite?.connectionString ?? '',
    GRAPH_BASE_URL: graph.baseUrl,
    GRAPH_AUTH: 'none',
    TENANT_ID: DEMO_TENANT,
    // The companion rules are opt-in in production; the demo shows them all.
    HUNT_RULES: demoRuleIds().join(','),
    NOTIFY_CHANNELS: JSON.stringify(channels),
    NOTIFY_ALLOW_FOLDER: 'true',
    ALLOWLIST_BASE_URL: 'https://codesign-hunt-demo.azurewebsites.net',
  };
  return {
    env,
    graph,
    azurite,
    outDir,
    async stop() {
      await graph.close();
      await azurite?.stop();
    },
  };
}

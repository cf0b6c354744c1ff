/**
 * The embedded default: everything `run --demo` needs to run a real cycle on a machine with no
 * Azure account and no network. In-memory Azurite from node_modules, the bundled sample of hunting
 * results served over HTTP by a local Graph server (answering only the rows of the window each
 * query asks for), a fixed demo clock so repeated runs see the same windows, a small seeded
 * allowlist, and a folder channel that writes the exact Teams and webhook payloads.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { normaliseHuntingResults } from '../hunting/graphClient';
import { startLocalGraphServer, type LocalGraphServer } from '../hunting/replaySource';
import type { HuntingQueryResults } from '../hunting/types';
import { startAzurite, type AzuriteInstance } from '../storage/azurite';
import { rowsForQuery } from './windowedReplay';

/** The sample's "now": its rows span the 24 hours before. */
export const DEMO_NOW = new Date('2026-11-26T12:00:00.000Z');
export const DEMO_TENANT = 'contoso-demo';
/** The folder channel's secret (demo only; signs the webhook files so they can be verified). */
export const DEMO_WEBHOOK_SECRET = 'whsec_ZGVtby1vbmx5LXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=';

export function loadDemoSample(): HuntingQueryResults {
  const path = join(__dirname, 'sample-hunting-results.json');
  const fallback = resolve(__dirname, '..', '..', '..', 'shared', 'demo', 'sample-hunting-results.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = readFileSync(fallback, 'utf8');
  }
  return normaliseHuntingResults(JSON.parse(text));
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
  const sample = loadDemoSample();
  const azurite = options.storage ? null : await startAzurite();
  const graph = await startLocalGraphServer(sample, {
    respond: (request) => {
      const rows = rowsForQuery(sample, request.query ?? '');
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

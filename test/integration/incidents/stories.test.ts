/**
 * One story, one incident, on the labelled stories (test/fixtures/stories, README there): the
 * whole pipeline replayed offline as the scheduled cycles would have seen the rows, scored by the
 * story metric; the same file with the detection branch ids of earlier versions; and the replay
 * compared with what the deployed app makes from the same rows (the real hunt cycle against
 * Azurite and a local Graph server, stepped through the same schedule).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHuntRuntime } from '../../../shared/app/huntRuntime';
import { memoryLogger } from '../../../shared/app/logger';
import { replayEnvironment, replayResults, replaySchedule, steppingClock, CollectingQueue, type ReplayOutcome } from '../../../shared/app/replayRuntime';
import { main } from '../../../shared/cli/main';
import { storyMetricOf } from '../../../shared/cli/replay';
import { loadSettings } from '../../../shared/config/settings';
import { rowsForQuery } from '../../../shared/demo/windowedReplay';
import { GraphHuntingClient, normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { startLocalGraphServer } from '../../../shared/hunting/replaySource';
import type { HuntingQueryResults } from '../../../shared/hunting/types';
import { STORY_TARGETS } from '../../../shared/incidents/storyMetric';
import { legacyBranchId } from '../../../shared/model/branches';
import type { Branch } from '../../../shared/model/finding';
import { loadRules } from '../../../shared/rules/loadRules';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

const FIXTURE = join(__dirname, '../../fixtures/stories');
const RESULTS_PATH = join(FIXTURE, 'stories.results.json');
const RULE = 't1587-002';
const TENANT = 'tailspin-stories';

function fixture(): HuntingQueryResults {
  return normaliseHuntingResults(JSON.parse(readFileSync(RESULTS_PATH, 'utf8')));
}

function labels(): unknown {
  return JSON.parse(readFileSync(join(FIXTURE, 'labels.json'), 'utf8'));
}

/** Incident id -> its finding ids, sorted: what "the same incident set" means. */
function incidentSet(incidents: readonly { id: string; findingIds: readonly string[] }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const incident of incidents) out[incident.id] = [...incident.findingIds].sort();
  return out;
}

let replayed: ReplayOutcome;

beforeAll(async () => {
  replayed = await replayResults({ results: fixture(), ruleId: RULE, env: { TENANT_ID: TENANT }, log: memoryLogger() });
}, 120_000);

describe('the labelled stories, replayed as the scheduled cycles would have seen them', () => {
  test('meets the issue: >= 90% exact, <= 1.1 incidents per story, no impure incident, nothing lost', () => {
    const metric = storyMetricOf(labels(), fixture(), RULE, replayed);
    expect(metric.stories).toBe(20);
    expect(metric.lost).toBe(STORY_TARGETS.lost);
    expect(metric.impure).toBe(STORY_TARGETS.impure);
    expect(metric.exact).toBeGreaterThanOrEqual(STORY_TARGETS.exact);
    expect(metric.fragmentation).toBeLessThanOrEqual(STORY_TARGETS.fragmentation);
    // The stories that must come out high (the attacker chains) do.
    const mustBeHigh = metric.perStory.filter((s) => s.severityOk !== null);
    expect(mustBeHigh.map((s) => s.storyId)).toEqual(['s07', 's08']);
    expect(mustBeHigh.every((s) => s.severityOk)).toBe(true);
  });

  test('rows arrived over many cycles, late ones hours after their story (the replay really ran the schedule)', () => {
    expect(replayed.schedule!.cycles).toBeGreaterThan(500);
    expect(replayed.runs.filter((r) => r.counts.findings > 0).length).toBeGreaterThan(20);
    expect(replayed.findings).toHaveLength(80);
  });

  test('the build agent signing thirty files is one incident with the count and the distinct files', () => {
    const build = replayed.incidents.find((i) => i.device.name.startsWith('ci-win-03'))!;
    expect(build.findingCount).toBe(31);
    expect(build.story.fileCount).toBeGreaterThanOrEqual(30);
  });

  test('the same file with the branch ids of earlier versions (powershell, makecert-pvk2pfx, ...) replays the same incidents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stories-legacy-'));
    const source = JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as { results: Record<string, unknown>[] };
    for (const row of source.results) row.DetectionBranch = legacyBranchId(row.DetectionBranch as Branch);
    expect(new Set(source.results.map((r) => r.DetectionBranch))).toEqual(new Set(['powershell', 'openssl', 'certutil', 'signtool', 'makecert-pvk2pfx']));
    writeFileSync(join(dir, 'stories.results.json'), JSON.stringify(source));
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels()));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['replay', join(dir, 'stories.results.json'), '--json'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { TENANT_ID: TENANT } });
    expect(code).toBe(0);
    const incidents = out.join('').trim().split('\n').map((line) => JSON.parse(line) as { id: string; findingIds: string[]; branch: string });
    expect(incidentSet(incidents)).toEqual(incidentSet(replayed.incidents));
    expect(new Set(incidents.map((i) => i.branch))).not.toContain('Other');
    // The metric is printed (on stderr with --json) because labels.json sits beside the file.
    expect(err.join('')).toContain('result: PASS');
  }, 120_000);
});

describe('replay makes the incidents the deployed app makes', () => {
  test('the same rows through the real hunt cycle on Azurite and a local Graph server give the same incident set', async () => {
    const results = fixture();
    const rule = loadRules().find((r) => r.id === RULE)!;
    const probe = loadSettings(replayEnvironment({ TENANT_ID: TENANT }, RULE, null));
    const schedule = replaySchedule(results, { intervalMs: rule.schedule.interval.ms, ingestionDelayMs: rule.ingestionDelay.ms, updateIntervalMs: probe.incidents.updateIntervalMs })!;
    const graph = await startLocalGraphServer(results, {
      respond: (request) => {
        const rows = rowsForQuery(results, request.query ?? '');
        return { status: 200, body: { schema: rows.schema, results: rows.results } };
      },
    });
    try {
      const settings = loadSettings({
        Storage: azuriteConnectionString(),
        TENANT_ID: TENANT,
        HUNT_RULES: RULE,
        GRAPH_BASE_URL: graph.baseUrl,
        GRAPH_AUTH: 'none',
        HUNT_INITIAL_LOOKBACK_MINUTES: String(Math.ceil(schedule.initialLookbackMs / 60_000)),
        CHECKPOINTS_TABLE: uniqueName('ckpt'),
        INCIDENTS_TABLE: uniqueName('inc'),
        ALLOWLIST_TABLE: uniqueName('allow'),
        ALLOWLIST_AUDIT_TABLE: uniqueName('audit'),
        RECENT_STEPS_TABLE: uniqueName('stories'),
      });
      const clock = steppingClock(schedule.start);
      const runtime = createHuntRuntime({
        settings,
        log: memoryLogger(),
        clock,
        channels: [],
        queue: new CollectingQueue(),
        source: new GraphHuntingClient({ baseUrl: graph.baseUrl, authentication: 'none', timeoutMs: 5000 }),
      });
      await runtime.ensureStorage();
      for (let k = 0; k < schedule.cycles; k++) {
        clock.set(new Date(schedule.start.getTime() + k * schedule.intervalMs));
        const runs = await runtime.runAll();
        expect(runs.map((r) => r.outcome)).toEqual(['succeeded']);
      }
      // The deployed app's incidents are its rows in the incidents table (aliases excluded).
      const table = runtime.storage.table(settings.tables.incidents);
      const deployed: { id: string; findingIds: string[] }[] = [];
      for await (const row of table.listEntities<Record<string, unknown>>()) {
        if (row.mergedInto) continue;
        deployed.push({ id: String(row.rowKey), findingIds: (JSON.parse(String(row.findingIds)) as [string, number][]).map(([id]) => id) });
      }
      expect(graph.requests.length).toBeGreaterThanOrEqual(schedule.cycles);
      expect(incidentSet(deployed)).toEqual(incidentSet(replayed.incidents));
      expect(deployed.length).toBe(20);
    } finally {
      await graph.close();
    }
  }, 300_000);
});

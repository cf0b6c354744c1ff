/**
 * `replay FILE [--allowlist FILE] [--out DIR] [--json] [--rule ID] [--labels FILE]`: the whole
 * pipeline offline over a results file, as the scheduled cycles would have seen its rows
 * (shared/app/replayRuntime.ts), with in-memory storage. Prints a readable summary, or with
 * `--json` one Incident (the webhook schema, with every `findingIds`) per line. `--out DIR`
 * writes the exact Teams cards and webhook bodies the announcements make, the HTML preview of the
 * cards, `incidents.jsonl` and `summary.txt`. When the file has labelled stories beside it
 * (`labels.json`) or `--labels` names them, the story metric is printed too (on stderr with --json).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadAllowlistFile } from '../allowlist/file';
import { streamLogger } from '../app/logger';
import { replayResults, type ReplayOutcome } from '../app/replayRuntime';
import type { HuntingQueryResults } from '../hunting/types';
import { formatStoryMetric, measureStories, parseStoryLabels, type LabelledFinding, type StoryMetric } from '../incidents/storyMetric';
import type { FolderChannel } from '../notify/channels';
import { writeFolderDelivery } from '../notify/localFolderSender';
import { writeCardsPreview } from '../notify/preview';
import { normaliseResults } from '../normalise/normalise';
import { HuntingResultsFileError, readHuntingResults, type HuntingResultsFile } from '../results/read';
import { parseOptions, UsageError, type CliIo } from './io';
import { incidentLines } from './summary';

const DEFAULT_RULE = 't1587-002';

/**
 * Reads saved hunting results the way `explain` does (shared/results/read.ts: a Graph answer or the
 * portal's CSV export, detected). One function, so replay takes every format explain takes.
 */
export async function readHuntingResultsFile(path: string): Promise<HuntingResultsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ReplayInputError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return readHuntingResults(text, { name: basename(path) });
  } catch (error) {
    if (error instanceof HuntingResultsFileError) throw new ReplayInputError(error.message);
    throw error;
  }
}

export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

/** `labels.json` beside the results file, when there is one. */
async function labelsFor(file: string, explicit: string | undefined): Promise<{ path: string; value: unknown } | null> {
  const path = explicit ?? join(dirname(resolve(file)), 'labels.json');
  try {
    return { path, value: JSON.parse(await readFile(path, 'utf8')) };
  } catch (error) {
    if (explicit) throw new ReplayInputError(`cannot read labels ${explicit}: ${(error as Error).message}`);
    return null;
  }
}

/** The metric over the replayed incidents; findings and rejections read as `explain` reads them. */
export function storyMetricOf(
  labelsJson: unknown,
  results: HuntingQueryResults & { rejected?: readonly unknown[] },
  ruleId: string,
  outcome: ReplayOutcome,
): StoryMetric {
  const labels = parseStoryLabels(labelsJson);
  const normalised = normaliseResults(results, { ruleId });
  const rejected = new Set(normalised.rejected.map((r) => r.index));
  const suppressed = new Set(outcome.findings.filter((f) => f.suppressedBy !== null).map((f) => f.id));
  const findings: LabelledFinding[] = [];
  let next = 0;
  for (let index = 0; index < results.results.length; index++) {
    if (rejected.has(index)) continue;
    const finding = normalised.findings[next++];
    // A finding the allowlist hid is meant to be in no incident.
    if (finding && !suppressed.has(finding.id)) findings.push({ id: finding.id, index, reportId: finding.reportId });
  }
  // Records the reader could not make rows of (CSV) are lost rows too.
  const unreadable = results.rejected?.length ?? 0;
  return measureStories({ labels, findings, rejectedRows: normalised.rejected.length + unreadable, incidents: outcome.incidents });
}

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The readable summary: counts, then every incident with its timeline. */
export function formatReplaySummary(file: string, outcome: ReplayOutcome): string {
  const rows = outcome.runs.reduce((sum, r) => sum + r.counts.rows, 0);
  const rejected = outcome.runs.reduce((sum, r) => sum + r.counts.rejectedRows, 0);
  const suppressed = outcome.findings.filter((f) => f.suppressedBy !== null).length;
  const chains = outcome.incidents.filter((i) => i.chain).length;
  const lines = [
    `codesign-hunt replay ${file}`,
    outcome.schedule
      ? `  ${outcome.schedule.cycles} scheduled cycles every ${outcome.schedule.intervalMs / 60_000} min from ${time(outcome.schedule.start.toISOString())}`
      : '  no rows with a time: nothing to replay',
    `  rows hunted ${rows} (with overlaps), findings ${outcome.findings.length}, rejected rows ${rejected}, suppressed ${suppressed}`,
    `  incidents ${outcome.incidents.length} (${chains} chains), notifications ${outcome.messages.length}`,
    '',
  ];
  const order = ['high', 'medium', 'low', 'informational'];
  const sorted = [...outcome.incidents].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity) || a.firstSeen.localeCompare(b.firstSeen));
  for (const incident of sorted) lines.push(...incidentLines(incident), '');
  return `${lines.join('\n')}\n`;
}

async function writeOut(dir: string, outcome: ReplayOutcome, summary: string, channel: FolderChannel): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const message of outcome.messages) await writeFolderDelivery(channel, message, new Date(message.createdAt));
  await writeFile(join(dir, 'incidents.jsonl'), outcome.incidents.map((i) => JSON.stringify(i)).join('\n') + (outcome.incidents.length ? '\n' : ''));
  await writeFile(join(dir, 'summary.txt'), summary);
  return writeCardsPreview(dir).catch((error: Error) => `(preview not written: ${error.message})`);
}

export async function runReplayCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['allowlist', 'out', 'rule', 'labels'], flags: ['json'] });
  const file = positional[0];
  if (!file || positional.length > 1) throw new UsageError('replay takes exactly one FILE');
  const ruleId = values.rule ?? DEFAULT_RULE;
  let results: HuntingResultsFile;
  try {
    results = await readHuntingResultsFile(file);
  } catch (error) {
    if (!(error instanceof ReplayInputError)) throw error;
    io.stderr(`replay: ${error.message}\n`);
    return 1;
  }
  for (const note of results.notes) io.stderr(`replay: note: ${note}\n`);
  for (const record of results.rejected) io.stderr(`replay: line ${record.line} skipped: ${record.reason}\n`);
  const allowlist = values.allowlist ? await loadAllowlistFile(values.allowlist) : undefined;
  const outDir = values.out ? resolve(values.out) : null;
  const channel: FolderChannel | null = outDir
    ? { id: 'replay', type: 'folder', dir: outDir, minSeverity: 'informational', kinds: ['incident', 'health', 'allowlist-change'], secret: null }
    : null;
  const outcome = await replayResults({
    results,
    ruleId,
    env: io.env,
    log: streamLogger(io.stderr, { quiet: true }),
    ...(allowlist ? { allowlist } : {}),
    ...(channel ? { channels: [channel] } : {}),
  });

  const labels = await labelsFor(file, values.labels);
  const metric = labels ? formatStoryMetric(storyMetricOf(labels.value, results, ruleId, outcome)) : null;
  const summary = formatReplaySummary(file, outcome) + (metric ? `\n${metric}` : '');
  if (flags.has('json')) {
    for (const incident of outcome.incidents) io.stdout(`${JSON.stringify(incident)}\n`);
    if (metric) io.stderr(metric);
  } else {
    io.stdout(summary);
  }
  if (outDir && channel) {
    const preview = await writeOut(outDir, outcome, summary, channel);
    io.stderr(`replay: wrote ${outcome.messages.length} notification(s) to ${outDir} (card preview: ${preview})\n`);
  }
  return 0;
}

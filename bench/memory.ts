/**
 * Figure 3, memory: the peak RSS of a child process that runs the 100,000-row cycle (read the
 * answer text, JSON.parse, pipeline), as a multiple of the answer's size in bytes and in MB;
 * target: under 512 MB, what the smallest instance offers. The same children time the parse and
 * the pipeline for figure 1 (one sample each), so the expensive cycle runs once per sample.
 *
 * The number of children is bounded by a time budget (at least `minRuns`, at most `maxRuns`):
 * while the pipeline costs about a minute per 100,000 rows on a 2-core machine, five runs do not
 * fit the bench's five minutes; once it is near its target (a few seconds) they do. When the first sample misses the pipeline
 * target, the next child profiles its pipeline run.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllowlistEntry } from '../shared/allowlist/entry';
import { fmt, log, mb, now, spread, type BenchSection, type MetricRow } from './common';
import type { ChildJob, ChildResult } from './memoryChild';
import type { WindowedJob, WindowedResult } from './windowedChild';
import { PIPELINE_TARGET, type CycleSample } from './pipeline';
import type { ProfileSummary } from './profile';

export const MEMORY_LIMIT_BYTES = 512 * 2 ** 20;
/** Old-space limit of the windowed child: what a 512 MB instance leaves for the heap. */
const WINDOWED_HEAP_MB = 384;

export interface CycleRunOptions {
  tmpDir: string;
  answerText: string;
  warmupText: string;
  allowlist: AllowlistEntry[];
  minRuns: number;
  maxRuns: number;
  /** Start another child only if it is expected to end within this time (after minRuns). */
  budgetMs: number;
  profile: boolean;
}

export interface CycleRuns {
  results: ChildResult[];
  wallMs: number[];
  profile: ProfileSummary | null;
  profileFile: string | null;
  stoppedBy: 'maxRuns' | 'budget';
}

function runChild(script: string, jobFile: string, nodeArgs: readonly string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, jobFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`cycle child exited with ${signal ?? code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

export async function runCycleChildren(options: CycleRunOptions): Promise<CycleRuns> {
  const answerFile = join(options.tmpDir, 'answer.json');
  const warmupFile = join(options.tmpDir, 'warmup.json');
  const allowlistFile = join(options.tmpDir, 'allowlist.json');
  writeFileSync(answerFile, options.answerText);
  writeFileSync(warmupFile, options.warmupText);
  writeFileSync(allowlistFile, JSON.stringify(options.allowlist));
  const script = join(__dirname, 'memoryChild.js');
  const started = now();
  const runs: CycleRuns = { results: [], wallMs: [], profile: null, profileFile: null, stoppedBy: 'maxRuns' };
  for (let i = 0; i < options.maxRuns; i++) {
    const elapsed = now() - started;
    const perRun = runs.wallMs.length > 0 ? Math.max(...runs.wallMs) : 0;
    if (i >= Math.max(1, options.minRuns) && elapsed + perRun > options.budgetMs) {
      runs.stoppedBy = 'budget';
      break;
    }
    const first = runs.results[0];
    const wantProfile = options.profile && runs.profile === null && first !== undefined && first.pipelineMs / first.parseMs > PIPELINE_TARGET;
    const job: ChildJob = {
      answerFile,
      warmupFile,
      allowlistFile,
      resultFile: join(options.tmpDir, `result-${i}.json`),
      encodeQueue: i === 0,
      ...(wantProfile ? { profileFile: join(options.tmpDir, 'pipeline.cpuprofile'), profileIntervalUs: 1000 } : {}),
    };
    const jobFile = join(options.tmpDir, `job-${i}.json`);
    writeFileSync(jobFile, JSON.stringify(job));
    const childStart = now();
    await runChild(script, jobFile);
    const wall = now() - childStart;
    const result = JSON.parse(readFileSync(job.resultFile, 'utf8')) as ChildResult;
    runs.results.push(result);
    runs.wallMs.push(wall);
    if (result.profile) {
      runs.profile = result.profile;
      runs.profileFile = job.profileFile ?? null;
    }
    log(
      `cycle child ${i + 1}: parse ${result.parseSamplesMs.map((ms) => fmt(ms, 0)).join('/')} ms, pipeline ${fmt(result.pipelineMs, 0)} ms ` +
        `(ratio ${fmt(result.pipelineMs / result.parseMs)}), peak RSS ${fmt(mb(result.maxRssBytes.afterPipeline), 0)} MB, ` +
        `wall ${fmt(wall / 1000, 1)} s${result.profile ? ', profiled' : ''}`,
    );
  }
  return runs;
}

export function cycleSamples(runs: CycleRuns): CycleSample[] {
  return runs.results.map((r) => ({
    parseMs: r.parseMs,
    parseSamplesMs: r.parseSamplesMs,
    pipelineMs: r.pipelineMs,
    stages: r.stages,
    counts: r.counts,
    queueEncodeMs: r.queueEncodeMs,
    profiled: r.profile !== null,
  }));
}

export interface MemoryRaw {
  responseBytes: number;
  peakRssBytes: number[];
  afterStartupBytes: number[];
  afterReadBytes: number[];
  afterParseBytes: number[];
  multiples: number[];
  rssEndBytes: number[];
  heapUsedEndBytes: number[];
  wallMs: number[];
  stoppedBy: string;
}

/**
 * The same 100,000 rows as the app receives them with the default HUNT_ROW_LIMIT (25,000): as
 * answers of at most that many rows, one window after another, in one child process.
 */
export async function runWindowedChildren(options: { tmpDir: string; answerText: string; warmupText: string; allowlist: unknown; windowRows: number; runs: number }): Promise<WindowedResult[]> {
  const parsed = JSON.parse(options.answerText) as { schema: unknown; results: unknown[] } & Record<string, unknown>;
  const answerFiles: string[] = [];
  for (let start = 0, i = 0; start < parsed.results.length; start += options.windowRows, i++) {
    const file = join(options.tmpDir, `window-${i}.json`);
    writeFileSync(file, JSON.stringify({ ...parsed, results: parsed.results.slice(start, start + options.windowRows) }));
    answerFiles.push(file);
  }
  const warmupFile = join(options.tmpDir, 'windowed-warmup.json');
  const allowlistFile = join(options.tmpDir, 'windowed-allowlist.json');
  writeFileSync(warmupFile, options.warmupText);
  writeFileSync(allowlistFile, JSON.stringify(options.allowlist));
  const results: WindowedResult[] = [];
  for (let i = 0; i < options.runs; i++) {
    const job: WindowedJob = { answerFiles, warmupFile, allowlistFile, resultFile: join(options.tmpDir, `windowed-result-${i}.json`) };
    const jobFile = join(options.tmpDir, `windowed-job-${i}.json`);
    writeFileSync(jobFile, JSON.stringify(job));
    // A 512 MB instance: V8 is told so (as it is sized by the instance there), instead of the
    // gigabytes of old space it would otherwise grow into on this 24 GB machine before collecting.
    await runChild(join(__dirname, 'windowedChild.js'), jobFile, [`--max-old-space-size=${WINDOWED_HEAP_MB}`]);
    const result = JSON.parse(readFileSync(job.resultFile, 'utf8')) as WindowedResult;
    log(`windowed cycle child ${i + 1}: ${result.windows} windows, ${result.rows} rows, peak RSS ${fmt(mb(result.peakRssBytes), 0)} MB`);
    results.push(result);
  }
  return results;
}

export function windowedMemoryRows(results: readonly WindowedResult[], windowRows: number): MetricRow[] {
  const peak = spread(results.map((r) => mb(r.peakRssBytes)));
  const limitMb = mb(MEMORY_LIMIT_BYTES);
  return [
    {
      id: 'memory.windowed.peakRssMB',
      metric: `peak RSS, the same rows in windows of ${windowRows.toLocaleString('en-US')} (HUNT_ROW_LIMIT default)`,
      value: peak.median,
      unit: 'MB',
      spread: peak,
      target: `< ${limitMb}`,
      pass: peak.max < limitMb,
      note: `n=${results.length}, ${results[0]?.windows ?? 0} answers in one process, --max-old-space-size=${WINDOWED_HEAP_MB}`,
    },
  ];
}

export function memorySection(runs: CycleRuns): BenchSection<MemoryRaw> {
  const responseBytes = runs.results[0]?.responseBytes ?? 0;
  const raw: MemoryRaw = {
    responseBytes,
    peakRssBytes: runs.results.map((r) => r.maxRssBytes.afterPipeline),
    afterStartupBytes: runs.results.map((r) => r.maxRssBytes.afterStartup),
    afterReadBytes: runs.results.map((r) => r.maxRssBytes.afterRead),
    afterParseBytes: runs.results.map((r) => r.maxRssBytes.afterParse),
    multiples: runs.results.map((r) => r.maxRssBytes.afterPipeline / r.responseBytes),
    rssEndBytes: runs.results.map((r) => r.rssBytesEnd),
    heapUsedEndBytes: runs.results.map((r) => r.heapUsedBytesEnd),
    wallMs: runs.wallMs,
    stoppedBy: runs.stoppedBy,
  };
  const peakMb = spread(raw.peakRssBytes.map(mb));
  const multiple = spread(raw.multiples);
  const rows: MetricRow[] = [
    {
      id: 'memory.peakRssMB',
      metric: 'peak RSS, all rows in one answer (HUNT_ROW_LIMIT=100000)',
      value: peakMb.median,
      unit: 'MB',
      spread: peakMb,
      target: '-',
      pass: null,
      note: `n=${runs.results.length}; needs a 2,048 MB instance`,
    },
    {
      id: 'memory.multiple',
      metric: `  peak RSS / answer size (${fmt(mb(responseBytes), 1)} MB)`,
      value: multiple.median,
      unit: 'x',
      spread: multiple,
      target: `< ${fmt(MEMORY_LIMIT_BYTES / Math.max(1, responseBytes))}`,
      pass: null,
    },
    { id: 'memory.afterStartupMB', metric: '  RSS peak after start-up and warm-up', value: spread(raw.afterStartupBytes.map(mb)).median, unit: 'MB', spread: spread(raw.afterStartupBytes.map(mb)), target: '-', pass: null },
    { id: 'memory.afterReadMB', metric: '  RSS peak with the answer text read', value: spread(raw.afterReadBytes.map(mb)).median, unit: 'MB', spread: spread(raw.afterReadBytes.map(mb)), target: '-', pass: null },
    { id: 'memory.afterParseMB', metric: '  RSS peak after JSON.parse', value: spread(raw.afterParseBytes.map(mb)).median, unit: 'MB', spread: spread(raw.afterParseBytes.map(mb)), target: '-', pass: null },
  ];
  const notes = runs.stoppedBy === 'budget' ? [`pipeline/memory: ${runs.results.length} cycle children ran (time budget reached; each took ${runs.wallMs.map((w) => fmt(w / 1000, 0)).join(', ')} s)`] : [];
  return { rows, raw, notes };
}

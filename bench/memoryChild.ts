/**
 * Child process of the pipeline and memory figures: one 100,000-row cycle (JSON.parse of the
 * answer text, then the pipeline) in a fresh process, so its peak RSS is that cycle's alone and
 * its parse/pipeline times are measured in one process. A small warm-up answer runs first (a
 * warm instance has JIT-compiled code), then the measured answer. Optionally profiles the
 * measured pipeline. Writes its result as JSON to the file named by the job.
 *
 * Usage: node memoryChild.js <job.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AllowlistEntry } from '../shared/allowlist/entry';
import { collectGarbage, now, spread } from './common';
import { benchChannels } from './fixtures';
import { encodeForQueue, runPipeline, type PipelineCounts, type StageTimes } from './pipeline';
import { profile, summarise, type ProfileSummary } from './profile';

export interface ChildJob {
  answerFile: string;
  warmupFile: string;
  allowlistFile: string;
  resultFile: string;
  /** Where to save the .cpuprofile of the measured pipeline; no profiling when absent. */
  profileFile?: string;
  profileIntervalUs?: number;
  /** Also time the queue encoding of the messages (after the measured pipeline). */
  encodeQueue?: boolean;
}

export interface ChildResult {
  responseBytes: number;
  /** Median of `parseSamplesMs`. */
  parseMs: number;
  /** The measured parse (before the pipeline) and PARSE_REPEATS more after it, heap emptied first. */
  parseSamplesMs: number[];
  pipelineMs: number;
  stages: StageTimes;
  /** Base64 JSON of every message (NotificationQueue.enqueue's work), after the measured pipeline. */
  queueEncodeMs: number | null;
  counts: PipelineCounts;
  /** process.resourceUsage().maxRSS at each point, in bytes. */
  maxRssBytes: { afterStartup: number; afterRead: number; afterParse: number; afterPipeline: number };
  rssBytesEnd: number;
  heapUsedBytesEnd: number;
  profile: ProfileSummary | null;
}

const PARSE_REPEATS = 2;

function median(values: readonly number[]): number {
  return spread(values).median;
}

function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error('usage: memoryChild <job.json>');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as ChildJob;
  const input = { allowlist: JSON.parse(readFileSync(job.allowlistFile, 'utf8')) as AllowlistEntry[], channels: benchChannels() };

  // Warm-up: the same code paths on a small answer, then let it go.
  runPipeline(JSON.parse(readFileSync(job.warmupFile, 'utf8')), input);
  collectGarbage();
  const afterStartup = maxRss();

  // As in GraphHuntingClient.runHuntingQuery: the body text lives until it is parsed, then goes.
  let text: string | null = readFileSync(job.answerFile, 'utf8');
  const responseBytes = Buffer.byteLength(text, 'utf8');
  collectGarbage();
  const afterRead = maxRss();

  const parseStart = now();
  let parsed: unknown = JSON.parse(text);
  const parseSamplesMs = [now() - parseStart];
  text = null;
  const afterParse = maxRss();

  let summary: ProfileSummary | null = null;
  let outcome: ReturnType<typeof runPipeline>;
  if (job.profileFile) {
    const profiled = await profile(() => runPipeline(parsed, input), job.profileIntervalUs ?? 1000);
    outcome = profiled.value;
    summary = summarise(profiled.profile, { top: 20, saveTo: job.profileFile });
  } else {
    outcome = runPipeline(parsed, input);
  }
  const afterPipeline = maxRss();
  const queueEncodeMs = job.encodeQueue ? encodeForQueue(outcome.messages).ms : null;
  const memory = process.memoryUsage();
  const { ms: pipelineMs, stages, counts } = outcome;

  // A parse of 90 MB is timed in about a second: one sample is at the mercy of whatever else
  // runs on the machine. Time it again on an emptied heap (after the peak was taken) and use the
  // median, so the ratio's denominator is as steady as its numerator.
  outcome = { ms: 0, stages, counts, messages: [] };
  parsed = null;
  const again = readFileSync(job.answerFile, 'utf8');
  for (let i = 0; i < PARSE_REPEATS; i++) {
    collectGarbage();
    const parseAgain = now();
    JSON.parse(again);
    parseSamplesMs.push(now() - parseAgain);
  }
  const result: ChildResult = {
    responseBytes,
    parseMs: median(parseSamplesMs),
    parseSamplesMs,
    pipelineMs,
    stages,
    queueEncodeMs,
    counts,
    maxRssBytes: { afterStartup, afterRead, afterParse, afterPipeline },
    rssBytesEnd: memory.rss,
    heapUsedBytesEnd: memory.heapUsed,
    profile: summary,
  };
  writeFileSync(job.resultFile, JSON.stringify(result));
}

main().catch((error: unknown) => {
  process.stderr.write(`memoryChild failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

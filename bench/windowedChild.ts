/**
 * Child process of the windowed memory figure: the 100,000-row cycle as the app runs it with the
 * default HUNT_ROW_LIMIT, i.e. every query ends with `| take 25000`, so the rows arrive as
 * several answers of at most that many rows, each read, parsed, run through the pipeline and let
 * go before the next (shared/hunt/cycle.ts keeps only counts between windows). Reports the peak
 * RSS of the whole sequence.
 *
 * Usage: node windowedChild.js <job.json>   job: { answerFiles, warmupFile, allowlistFile, resultFile }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AllowlistEntry } from '../shared/allowlist/entry';
import { collectGarbage } from './common';
import { benchChannels } from './fixtures';
import { runPipeline } from './pipeline';

export interface WindowedJob {
  answerFiles: string[];
  warmupFile: string;
  allowlistFile: string;
  resultFile: string;
}

export interface WindowedResult {
  windows: number;
  rows: number;
  peakRssBytes: number;
}

function main(): void {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error('usage: windowedChild <job.json>');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as WindowedJob;
  const input = { allowlist: JSON.parse(readFileSync(job.allowlistFile, 'utf8')) as AllowlistEntry[], channels: benchChannels() };
  runPipeline(JSON.parse(readFileSync(job.warmupFile, 'utf8')), input);
  collectGarbage();
  let rows = 0;
  for (const file of job.answerFiles) {
    // One window: its answer text lives until parsed, its results until the next window.
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { results: unknown[] };
    rows += parsed.results.length;
    runPipeline(parsed, input);
  }
  const result: WindowedResult = { windows: job.answerFiles.length, rows, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  writeFileSync(job.resultFile, JSON.stringify(result));
}

main();

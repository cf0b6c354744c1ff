/**
 * `npm run bench`: runs the five benchmarks of the issue "prove the pipeline runs close to the
 * cost of reading its input" and the worst-case row of issue #15, prints one table (metric | median | spread | target | result) and
 * writes every raw number, with machine info, to bench/results.json.
 *
 * Order: the cheap in-process figures first (allowlist scaling, worst-case row), then cold start and storage
 * (child processes, Azurite), and last the 100,000-row cycles (pipeline ratio and memory), whose
 * repetitions (up to 5) take whatever is left of the time budget (BENCH_BUDGET_SECONDS, default
 * 245 s for this script, so that compile + bundle + bench stay under five minutes).
 *
 * Options: --only=allowlist,worstrow,coldstart,storage,pipeline[,tenants]   --rows=N   --devices=N
 *          --tenants=N (the tenants section, run only when named: 200 tenants through the hunt-jobs queue)
 *          --budget=SECONDS   --runs=N (cycle children to run even past the budget; default 1)
 *          --worst-rows=N (rows of each answer of the worst-case row figure; default 1,000)
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchAllowlist } from './allowlist';
import { benchColdstart } from './coldstart';
import { fmt, log, machineInfo, now, projectRoot, type BenchSection, type MetricRow } from './common';
import { cycleSamples, memorySection, runCycleChildren, runWindowedChildren, windowedMemoryRows } from './memory';
import { PIPELINE_TARGET, pipelineInput, pipelineSection, syntheticAnswer } from './pipeline';
import { formatSummary, type ProfileSummary } from './profile';
import { benchStorage } from './storage';
import { benchTenants } from './tenants';
import { benchWorstRow } from './worstRow';

type SectionName = 'allowlist' | 'worstrow' | 'coldstart' | 'storage' | 'pipeline' | 'tenants';
const ALL_SECTIONS: SectionName[] = ['allowlist', 'worstrow', 'coldstart', 'storage', 'pipeline'];
/** Run only when named in --only (they take minutes): 200 tenants through the hunt-jobs queue. */
const OPTIONAL_SECTIONS: SectionName[] = ['tenants'];
/** This script's share of the five minutes; compiling and bundling take the rest. */
const DEFAULT_BUDGET_SECONDS = 245;

interface Options {
  only: SectionName[];
  rows: number;
  devices: number;
  budgetMs: number;
  /** Cycle children run even past the budget (default 1: the five-minute limit wins). */
  minRuns: number;
  worstRows: number;
  tenants: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const only = value('only')?.split(',').filter((s): s is SectionName => ([...ALL_SECTIONS, ...OPTIONAL_SECTIONS] as string[]).includes(s)) ?? ALL_SECTIONS;
  const budgetSeconds = Number(value('budget') ?? process.env.BENCH_BUDGET_SECONDS ?? DEFAULT_BUDGET_SECONDS);
  return {
    only,
    rows: Number(value('rows') ?? 100_000),
    devices: Number(value('devices') ?? 2_000),
    budgetMs: (Number.isFinite(budgetSeconds) && budgetSeconds > 0 ? budgetSeconds : DEFAULT_BUDGET_SECONDS) * 1000,
    minRuns: Math.max(1, Math.min(5, Number(value('runs') ?? 1) || 1)),
    worstRows: Math.max(10, Number(value('worst-rows') ?? 1_000) || 1_000),
    tenants: Math.max(1, Number(value('tenants') ?? 200) || 200),
  };
}

function formatSpread(row: MetricRow): string {
  const s = row.spread;
  if (!s || s.samples.length < 2) return '-';
  return `${fmt(s.min)}–${fmt(s.max)}`;
}

function formatValue(row: MetricRow): string {
  return `${fmt(row.value)} ${row.unit}`.trim();
}

function table(rows: readonly MetricRow[]): string {
  const header = ['metric', 'median', 'spread (min–max)', 'target', 'result', 'note'];
  const cells = rows.map((r) => [r.metric, formatValue(r), formatSpread(r), r.target, r.pass === null ? '' : r.pass ? 'PASS' : 'MISS', r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i === 0 || i === 5 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = now();
  const deadline = started + options.budgetMs;
  const startedAt = new Date().toISOString();
  const machineAtStart = machineInfo();
  log(`node ${machineAtStart.node}, ${machineAtStart.cpus} cpus, load ${machineAtStart.loadAverage.join(' ')}; budget ${options.budgetMs / 1000} s`);
  const sections: Record<string, BenchSection> = {};
  const errors: Record<string, string> = {};
  const profiled: { summary: ProfileSummary | null; file: string | null } = { summary: null, file: null };
  const tmp = mkdtempSync(join(tmpdir(), 'codesign-bench-'));

  const run = async (name: SectionName, work: () => Promise<BenchSection> | BenchSection): Promise<void> => {
    if (!options.only.includes(name)) return;
    const t = now();
    try {
      sections[name] = await work();
    } catch (error) {
      errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name} failed: ${errors[name]}`);
    }
    log(`${name} done in ${fmt((now() - t) / 1000, 1)} s`);
  };

  try {
    await run('allowlist', () => benchAllowlist({ findings: 20_000, repetitions: 5, devices: options.devices }));
    await run('worstrow', () => benchWorstRow({ rows: options.worstRows, repetitions: 5, devices: 200 }));
    await run('coldstart', () => benchColdstart({ rounds: 5 }));
    await run('tenants', () => benchTenants({ tenants: options.tenants, rows: 50, workers: [1, 2, 4] }));
    await run('storage', () => benchStorage({ repetitions: 5, incidentRepetitions: 2, newIncidents: 1_000 }));
    await run('pipeline', async () => {
      const answer = syntheticAnswer(options.rows, options.devices);
      const warmup = syntheticAnswer(2_000, 200);
      log(`synthetic answer: ${answer.rows} rows, ${fmt(answer.bytes / 2 ** 20, 1)} MB, generated in ${fmt(answer.generateMs / 1000, 1)} s`);
      const input = pipelineInput(answer.pools);
      const remaining = deadline - now();
      const runs = await runCycleChildren({
        tmpDir: tmp,
        answerText: answer.text,
        warmupText: warmup.text,
        allowlist: input.allowlist,
        minRuns: options.minRuns,
        maxRuns: 5,
        budgetMs: Math.max(0, remaining),
        profile: true,
      });
      if (runs.profile && runs.profileFile) {
        // Kept after the temporary folder goes: open it in Chrome DevTools or VS Code.
        const file = join(projectRoot(), 'dist', 'bench', 'pipeline.cpuprofile');
        copyFileSync(runs.profileFile, file);
        profiled.summary = { ...runs.profile, file };
        profiled.file = file;
      }
      const meta = { rows: answer.rows, devices: options.devices, responseBytes: answer.bytes, allowlistEntries: input.allowlist.length };
      sections.memory = memorySection(runs);
      const windowRows = 25_000;
      const windowed = await runWindowedChildren({ tmpDir: tmp, answerText: answer.text, warmupText: warmup.text, allowlist: input.allowlist, windowRows, runs: 2 });
      sections.memory.rows.unshift(...windowedMemoryRows(windowed, windowRows));
      return pipelineSection(cycleSamples(runs), meta);
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const order = ['pipeline', 'allowlist', 'worstrow', 'memory', 'coldstart', 'storage', 'tenants'];
  const rows = order.flatMap((name) => sections[name]?.rows ?? []);
  const notes = order.flatMap((name) => sections[name]?.notes ?? []);
  const totalSeconds = (now() - started) / 1000;
  const machineAtEnd = machineInfo();

  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const note of notes) process.stdout.write(`- ${note}\n`);
  const summary = profiled.summary;
  const pipelineRow = rows.find((r) => r.id === 'pipeline.ratio');
  if (summary && pipelineRow && pipelineRow.pass === false) {
    process.stdout.write(`\nPipeline ratio ${fmt(pipelineRow.value)} misses ${PIPELINE_TARGET}: where the time goes\n${formatSummary(summary, 'profile of one 100,000-row pipeline run')}\n`);
  }
  for (const [name, error] of Object.entries(errors)) process.stdout.write(`\n${name} FAILED: ${error.split('\n')[0] ?? ''}\n`);
  const misses = rows.filter((r) => r.pass === false).map((r) => r.id);
  process.stdout.write(
    `\n${rows.filter((r) => r.pass === true).length} PASS, ${misses.length} MISS${misses.length ? ` (${misses.join(', ')})` : ''}; bench ran ${fmt(totalSeconds, 1)} s; ` +
      `load average ${machineAtStart.loadAverage.join('/')} at start, ${machineAtEnd.loadAverage.join('/')} at end\n`,
  );

  const results = {
    issue: 'Benchmarks: prove the pipeline runs close to the cost of reading its input',
    startedAt,
    finishedAt: new Date().toISOString(),
    totalSeconds,
    machine: { atStart: machineAtStart, atEnd: machineAtEnd },
    options,
    summary: rows.map((r) => ({
      id: r.id,
      metric: r.metric.trim(),
      median: r.value,
      unit: r.unit,
      spread: r.spread ? { min: r.spread.min, max: r.spread.max, q1: r.spread.q1, q3: r.spread.q3, n: r.spread.samples.length } : null,
      target: r.target,
      result: r.pass === null ? null : r.pass ? 'PASS' : 'MISS',
      note: r.note ?? null,
    })),
    raw: Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, s.raw])),
    notes,
    profile: summary,
    errors,
  };
  const out = join(projectRoot(), 'bench', 'results.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`raw numbers: ${out}${profiled.file ? `; CPU profile: ${profiled.file}` : ''}\n`);
  if (Object.keys(errors).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

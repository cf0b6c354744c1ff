/**
 * Figure 2, allowlist scaling: the suppression stage (`suppress` with a compiled matcher) over
 * 20,000 findings with 10, 1,000 and 10,000 entries; target: 10,000 entries cost at most 1.2x
 * what 10 cost. Compilation (`compileAllowlist`) is timed separately and not in the ratio.
 *
 * Every list holds the same 10 entries that do match (build signers, thumbprints, the build
 * agents' parent and output folder) plus filler in a realistic mix that mostly does not match:
 * exact subjects and thumbprints, device globs (`lab-042-*`, `*.lab17.contoso.local`), file globs
 * (`*\proj-123\out\*.pfx`, `C:\signing\proj-9\*.pvk`), parents with a branch, accounts, and 1%
 * near misses whose anchor literal does occur (a build subject) but whose other condition fails.
 * So the suppressed set is identical across sizes and only the index's growth is measured.
 */
import { createHash } from 'node:crypto';
import type { AllowlistConditions, AllowlistEntry } from '../shared/allowlist/entry';
import { compileAllowlist, suppress } from '../shared/allowlist/matcher';
import type { Finding } from '../shared/model/finding';
import { normaliseResults } from '../shared/normalise/normalise';
import { collectGarbage, fmt, log, now, spread, type BenchSection, type MetricRow } from './common';
import { BENCH_NOW, BENCH_TENANT, WINDOW_END, WINDOW_MS, benchRule } from './fixtures';
import { allowlistEntry, generateResponse, prng, type SyntheticPools } from './synthetic';

export const ALLOWLIST_TARGET = 1.2;
export const ALLOWLIST_SIZES = [10, 1_000, 10_000] as const;

function hex40(seed: string): string {
  return createHash('sha1').update(seed).digest('hex').toUpperCase();
}

/** The entries that match in every list (10). */
function matchingEntries(pools: SyntheticPools): AllowlistEntry[] {
  const out: AllowlistEntry[] = [];
  const add = (conditions: AllowlistConditions) => out.push(allowlistEntry(conditions, BENCH_NOW, { id: `match-${out.length}` }));
  for (const subject of pools.buildSubjects.slice(0, 4)) add({ signerSubject: `CN=${subject}`, deviceName: 'build-*' });
  for (const thumbprint of pools.buildThumbprints.slice(4, 7)) add({ thumbprint });
  add({ parentProcess: 'Agent.Worker.exe', branch: 'signtool' });
  add({ certificateFile: '*\\out\\*.pfx', deviceName: 'build-agent-*' });
  add({ account: `contoso\\${pools.buildAccounts[0] ?? 'svc_build00'}`, tool: 'pvk2pfx' });
  return out;
}

/** `count` filler entries in the realistic mix (deterministic). */
function fillerEntries(count: number, pools: SyntheticPools, seed = 42): AllowlistEntry[] {
  const random = prng(seed);
  const out: AllowlistEntry[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    let conditions: AllowlistConditions;
    if (r < 0.3) conditions = { signerSubject: `CN=Vendor Product ${i}, O=Vendor ${i % 997} Ltd` };
    else if (r < 0.5) conditions = { thumbprint: hex40(`filler-${i}`) };
    else if (r < 0.58) conditions = { deviceName: `lab-${String(i).padStart(5, '0')}-*`, tool: 'makecert' };
    else if (r < 0.65) conditions = { deviceName: `*.lab${i}.contoso.local` };
    else if (r < 0.73) conditions = { certificateFile: `*\\proj-${i}\\out\\*.pfx` };
    else if (r < 0.8) conditions = { certificateFile: `C:\\signing\\proj-${i}\\*.pvk` };
    else if (r < 0.89) conditions = { parentProcess: `buildtool${i}.exe`, branch: 'signtool' };
    else if (r < 0.94) conditions = { account: `contoso\\svc_app${i}` };
    else if (r < 0.99) conditions = { deviceName: `srv-batch-${i}.contoso.local`, branch: 'openssl' };
    else {
      // Near miss: anchored on a build subject that does occur; the parent condition fails.
      const subject = pools.buildSubjects[i % pools.buildSubjects.length] ?? 'Contoso-Payments-Release';
      conditions = { signerSubject: `CN=${subject}*`, parentProcess: `x${i}*.exe` };
    }
    out.push(allowlistEntry(conditions, BENCH_NOW, { id: `filler-${i}` }));
  }
  return out;
}

export function scalingAllowlist(size: number, pools: SyntheticPools): AllowlistEntry[] {
  const matching = matchingEntries(pools);
  return [...matching, ...fillerEntries(Math.max(0, size - matching.length), pools)];
}

export interface AllowlistRaw {
  findings: number;
  repetitions: number;
  sizes: number[];
  suppressMs: Record<string, number[]>;
  compileMs: Record<string, number[]>;
  suppressed: Record<string, number>;
  stats: Record<string, unknown>;
  ratios: number[];
}

export function benchAllowlist(options: { findings: number; repetitions: number; devices: number }): BenchSection<AllowlistRaw> {
  const started = now();
  const generated = generateResponse({ rows: options.findings, devices: options.devices, windowEnd: WINDOW_END, windowMs: WINDOW_MS, seed: 2026 });
  const rule = benchRule();
  const findings: Finding[] = normaliseResults(
    { schema: generated.response.schema, results: generated.response.results },
    { ruleId: rule.id, defaultSeverity: rule.severity },
  ).findings;
  log(`allowlist: ${findings.length} findings ready in ${fmt(now() - started, 0)} ms`);
  const lists = new Map(ALLOWLIST_SIZES.map((size) => [size, scalingAllowlist(size, generated.pools)] as const));
  const raw: AllowlistRaw = {
    findings: findings.length,
    repetitions: options.repetitions,
    sizes: [...ALLOWLIST_SIZES],
    suppressMs: {},
    compileMs: {},
    suppressed: {},
    stats: {},
    ratios: [],
  };
  for (const size of ALLOWLIST_SIZES) {
    raw.suppressMs[size] = [];
    raw.compileMs[size] = [];
  }
  // Warm-up of every size, then interleaved repetitions so drift hits all sizes alike.
  for (let rep = 0; rep <= options.repetitions; rep++) {
    for (const size of ALLOWLIST_SIZES) {
      const entries = lists.get(size) ?? [];
      collectGarbage();
      const compileStart = now();
      const matcher = compileAllowlist(entries, BENCH_NOW);
      const compileMs = now() - compileStart;
      collectGarbage();
      const suppressStart = now();
      const result = suppress(findings, matcher, BENCH_TENANT, BENCH_NOW);
      const suppressMs = now() - suppressStart;
      if (rep === 0) {
        raw.suppressed[size] = result.findings.filter((f) => f.suppressedBy !== null).length;
        raw.stats[size] = matcher.stats;
        continue;
      }
      raw.compileMs[size]?.push(compileMs);
      raw.suppressMs[size]?.push(suppressMs);
    }
  }
  const small = raw.suppressMs[ALLOWLIST_SIZES[0]] ?? [];
  const large = raw.suppressMs[ALLOWLIST_SIZES[ALLOWLIST_SIZES.length - 1] ?? 10_000] ?? [];
  raw.ratios = large.map((ms, i) => ms / (small[i] ?? NaN));
  const ratio = spread(raw.ratios);
  const rows: MetricRow[] = [
    {
      id: 'allowlist.ratio',
      metric: `suppress 10,000 / 10 entries (${findings.length.toLocaleString('en-US')} findings)`,
      value: ratio.median,
      unit: 'x',
      spread: ratio,
      target: `<= ${ALLOWLIST_TARGET}`,
      pass: ratio.median <= ALLOWLIST_TARGET,
    },
  ];
  for (const size of ALLOWLIST_SIZES) {
    const s = spread(raw.suppressMs[size] ?? []);
    rows.push({
      id: `allowlist.suppressMs.${size}`,
      metric: `  suppress, ${size.toLocaleString('en-US')} entries`,
      value: s.median,
      unit: 'ms',
      spread: s,
      target: '-',
      pass: null,
      note: `${fmt((1000 * s.median) / findings.length, 2)} µs/finding; ${raw.suppressed[size] ?? 0} suppressed`,
    });
  }
  for (const size of ALLOWLIST_SIZES) {
    const s = spread(raw.compileMs[size] ?? []);
    rows.push({ id: `allowlist.compileMs.${size}`, metric: `  compile, ${size.toLocaleString('en-US')} entries (not in ratio)`, value: s.median, unit: 'ms', spread: s, target: '-', pass: null });
  }
  const suppressedCounts = ALLOWLIST_SIZES.map((size) => raw.suppressed[size] ?? 0);
  const notes = new Set(suppressedCounts).size === 1 ? [] : [`allowlist: suppressed counts differ across sizes (${suppressedCounts.join(', ')})`];
  return { rows, raw, notes };
}

/**
 * Figure 4, cold start: wall time of a fresh `node` process that requires a function entry point
 * and exits, bundled (dist/bundle/{hunt,deliver,allowlist}.js from `npm run bundle`) and unbundled
 * (dist/functions/index.js from tsc), as a ratio to a bare `node -e ""`. Rounds are interleaved
 * (every variant once per round, after one unmeasured round for the file cache) and the ratio is
 * taken per round. Each child also reports the require alone (process-internal), for reference.
 *
 * Outside the Functions host, @azure/functions runs in "test mode" and skips registering with a
 * worker; everything else (module loading, top-level code) is what a cold instance does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, log, now, projectRoot, spread, type BenchSection, type MetricRow } from './common';

export const COLDSTART_TARGET = 2;
export const BUNDLE_ENTRIES = ['hunt', 'deliver', 'allowlist'] as const;

interface Variant {
  id: string;
  label: string;
  /** Module to require; null for bare node. */
  file: string | null;
  bundled: boolean;
}

export interface ColdstartRaw {
  rounds: number;
  bundleSource: string;
  wallMs: Record<string, number[]>;
  requireMs: Record<string, number[]>;
  ratios: Record<string, number[]>;
}

/** Where the bundles come from: dist/bundle (npm run bundle), else built here, and how. */
function ensureBundles(root: string): { dir: string; source: string } {
  const dist = join(root, 'dist', 'bundle');
  const present = (dir: string) => BUNDLE_ENTRIES.every((e) => existsSync(join(dir, `${e}.js`)));
  if (present(dist)) return { dir: dist, source: 'dist/bundle (npm run bundle)' };
  const script = join(root, 'scripts', 'bundle.mjs');
  if (existsSync(script)) {
    log('cold start: dist/bundle missing, running scripts/bundle.mjs');
    const result = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
    if (result.status === 0 && present(dist)) return { dir: dist, source: 'dist/bundle (scripts/bundle.mjs run by the bench)' };
    log(`cold start: scripts/bundle.mjs failed: ${result.stderr}`);
  }
  // Last resort: our own esbuild bundle of each entry, CommonJS, into a temporary folder.
  const dir = mkdtempSync(join(tmpdir(), 'codesign-bench-bundle-'));
  const code = `require('esbuild').buildSync({ entryPoints: ${JSON.stringify(BUNDLE_ENTRIES.map((e) => join(root, 'functions', `${e}.ts`)))}, outdir: ${JSON.stringify(dir)}, bundle: true, platform: 'node', format: 'cjs', external: ['@azure/functions-core'], logLevel: 'error' })`;
  const result = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0 || !present(dir)) throw new Error(`could not bundle the function entries: ${result.stderr}`);
  return { dir, source: `bench's own esbuild bundle in ${dir} (scripts/bundle.mjs not available)` };
}

const REQUIRE_SCRIPT = (file: string): string =>
  `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;

function spawnOnce(variant: Variant, root: string): { wallMs: number; requireMs: number } {
  const args = variant.file ? ['-e', REQUIRE_SCRIPT(variant.file)] : ['-e', ''];
  const started = now();
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = now() - started;
  if (result.status !== 0) throw new Error(`${variant.label} failed: ${result.stderr.slice(-1000)}`);
  return { wallMs, requireMs: variant.file ? Number(result.stdout) : 0 };
}

export function benchColdstart(options: { rounds: number }): BenchSection<ColdstartRaw> {
  const root = projectRoot();
  const unbundled = join(root, 'dist', 'functions', 'index.js');
  if (!existsSync(unbundled)) throw new Error('dist/functions/index.js is missing: run `npm run build` first');
  const bundles = ensureBundles(root);
  const variants: Variant[] = [
    { id: 'bare', label: 'node -e ""', file: null, bundled: false },
    { id: 'unbundled.index', label: 'unbundled dist/functions/index.js', file: unbundled, bundled: false },
    { id: 'unbundled.hunt', label: 'unbundled dist/functions/hunt.js', file: join(root, 'dist', 'functions', 'hunt.js'), bundled: false },
    ...BUNDLE_ENTRIES.map((e): Variant => ({ id: `bundled.${e}`, label: `bundled ${e}.js`, file: join(bundles.dir, `${e}.js`), bundled: true })),
  ];
  const raw: ColdstartRaw = { rounds: options.rounds, bundleSource: bundles.source, wallMs: {}, requireMs: {}, ratios: {} };
  for (const v of variants) {
    raw.wallMs[v.id] = [];
    raw.requireMs[v.id] = [];
    raw.ratios[v.id] = [];
  }
  for (let round = 0; round <= options.rounds; round++) {
    // Rotate the order so no variant always runs right after another.
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    const times = new Map<string, { wallMs: number; requireMs: number }>();
    for (const v of order) times.set(v.id, spawnOnce(v, root));
    if (round === 0) continue;
    const bare = times.get('bare')?.wallMs ?? NaN;
    for (const v of variants) {
      const t = times.get(v.id);
      if (!t) continue;
      raw.wallMs[v.id]?.push(t.wallMs);
      raw.requireMs[v.id]?.push(t.requireMs);
      raw.ratios[v.id]?.push(t.wallMs / bare);
    }
  }
  const bare = spread(raw.wallMs.bare ?? []);
  const rows: MetricRow[] = [];
  for (const v of variants.filter((x) => x.bundled)) {
    const ratio = spread(raw.ratios[v.id] ?? []);
    rows.push({
      id: `coldstart.${v.id}`,
      metric: `cold start, ${v.label} / bare node`,
      value: ratio.median,
      unit: 'x',
      spread: ratio,
      target: `<= ${COLDSTART_TARGET}`,
      pass: ratio.median <= COLDSTART_TARGET,
      note: `${fmt(spread(raw.wallMs[v.id] ?? []).median, 0)} ms wall, require ${fmt(spread(raw.requireMs[v.id] ?? []).median, 0)} ms`,
    });
  }
  for (const v of variants.filter((x) => !x.bundled && x.file)) {
    const ratio = spread(raw.ratios[v.id] ?? []);
    rows.push({
      id: `coldstart.${v.id}`,
      metric: `  cold start, ${v.label} / bare node`,
      value: ratio.median,
      unit: 'x',
      spread: ratio,
      target: '-',
      pass: null,
      note: `${fmt(spread(raw.wallMs[v.id] ?? []).median, 0)} ms wall, require ${fmt(spread(raw.requireMs[v.id] ?? []).median, 0)} ms`,
    });
  }
  rows.push({ id: 'coldstart.bareMs', metric: '  bare node -e ""', value: bare.median, unit: 'ms', spread: bare, target: '-', pass: null });
  return { rows, raw, notes: [`cold start: bundles from ${bundles.source}; n=${options.rounds} rounds`] };
}

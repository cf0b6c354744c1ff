/**
 * Shared helpers of the benchmarks: statistics over repeated samples, timing, forced garbage
 * collection, the project root, machine info and the result shape every bench returns.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { findProjectRoot } from '../shared/rules/loadRules';

export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  samples: number[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (pos - lo);
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    samples: [...samples],
  };
}

/** One line of the summary table. */
export interface MetricRow {
  id: string;
  metric: string;
  /** The median (or the single value of a deterministic count). */
  value: number;
  unit: string;
  /** Present when the figure was measured several times. */
  spread?: Spread;
  /** Human-readable target, e.g. "<= 1.5". */
  target: string;
  /** null: informational, no target. */
  pass: boolean | null;
  note?: string;
}

export interface BenchSection<Raw = unknown> {
  rows: MetricRow[];
  raw: Raw;
  notes: string[];
}

export function now(): number {
  return performance.now();
}

export function timeSync<T>(work: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = work();
  return { ms: performance.now() - started, value };
}

let gcFn: (() => void) | null | undefined;

/** Full garbage collection between samples (exposes `gc` at run time if node was not started with it). */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFn = exposed;
    else {
      try {
        setFlagsFromString('--expose_gc');
        gcFn = runInNewContext('gc') as () => void;
      } catch {
        gcFn = null;
      }
    }
  }
  gcFn?.();
  gcFn?.();
}

/** The checkout root (the nearest codesign-hunt package.json above this file). */
export function projectRoot(): string {
  return findProjectRoot(__dirname);
}

export interface MachineInfo {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemMB: number;
  freeMemMB: number;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    freeMemMB: Math.round(freemem() / 2 ** 20),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  if (Math.abs(value) >= 100) return value.toFixed(Math.min(digits, 1));
  return value.toFixed(digits);
}

export function mb(bytes: number): number {
  return bytes / 2 ** 20;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

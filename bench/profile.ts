/**
 * In-process CPU profiling (the V8 sampling profiler through `node:inspector`, the same data
 * `node --cpu-prof` writes) and a summary of where the time goes: self time per function and per
 * source file, and inclusive time of the project's own functions, mapped back to the TypeScript
 * file:line through the compiled files' source maps.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './common';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  /** `function (file:line)` in TypeScript terms when a source map resolves it. */
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs?: number;
  totalPct?: number;
}

export interface ProfileSummary {
  totalMs: number;
  samples: number;
  topSelf: HotSpot[];
  topTotal: HotSpot[];
  byFile: HotSpot[];
  file: string | null;
}

function post<T>(session: Session, method: string, params?: Record<string, unknown>): Promise<T> {
  return new Promise((resolvePost, reject) => {
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolvePost(result as T)));
  });
}

/** Profiles `work` (synchronous or not) with the given sampling interval in microseconds. */
export async function profile<T>(work: () => T | Promise<T>, intervalUs = 250): Promise<{ profile: CpuProfile; value: T }> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: intervalUs });
    await post(session, 'Profiler.start');
    const value = await work();
    const { profile: result } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
    await post(session, 'Profiler.disable');
    return { profile: result, value };
  } finally {
    session.disconnect();
  }
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(file: string): SourceMap | null {
  if (maps.has(file)) return maps.get(file) ?? null;
  let map: SourceMap | null = null;
  const mapFile = `${file}.map`;
  if (existsSync(mapFile)) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload);
    } catch {
      map = null;
    }
  }
  maps.set(file, map);
  return map;
}

function fileOf(url: string): string | null {
  if (url.startsWith('file://')) return fileURLToPath(url);
  if (url.startsWith('/')) return url;
  return null;
}

/** `file:line` of a frame, in TypeScript source terms when a map exists (lines 1-based). */
function locate(frame: CallFrame): { file: string; line: number } {
  const root = projectRoot();
  const file = fileOf(frame.url);
  if (!file) return { file: frame.url || '(native)', line: frame.lineNumber + 1 };
  const map = sourceMapFor(file);
  if (map) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
      return { file: relative(root, source), line: entry.originalLine + 1 };
    }
  }
  const rel = relative(root, file);
  return { file: rel.startsWith('..') ? file : rel, line: frame.lineNumber + 1 };
}

function label(frame: CallFrame): { key: string; file: string } {
  const { file, line } = locate(frame);
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return { key: name, file: name.startsWith('(') ? name : '(native)' };
  return { key: `${name} (${file}:${line})`, file };
}

/**
 * Self time per function and per file, and inclusive (total) time of the project's own functions
 * (a recursive function counts once per sample). Writes the raw profile to `saveTo` when given,
 * so it can be opened in Chrome DevTools or VS Code.
 */
export function summarise(cpu: CpuProfile, options: { top?: number; saveTo?: string } = {}): ProfileSummary {
  const top = options.top ?? 15;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of cpu.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  const labels = new Map<number, { key: string; file: string }>();
  const labelOf = (id: number): { key: string; file: string } => {
    let l = labels.get(id);
    if (!l) {
      const node = byId.get(id);
      l = node ? label(node.callFrame) : { key: '(unknown)', file: '(unknown)' };
      labels.set(id, l);
    }
    return l;
  };
  let totalUs = 0;
  cpu.samples.forEach((id, i) => {
    const delta = cpu.timeDeltas[i] ?? 0;
    totalUs += delta;
    const own = labelOf(id);
    self.set(own.key, (self.get(own.key) ?? 0) + delta);
    files.set(own.file, (files.get(own.file) ?? 0) + delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = labelOf(at);
      if (seen.has(l.key)) continue;
      seen.add(l.key);
      total.set(l.key, (total.get(l.key) ?? 0) + delta);
    }
  });
  const pct = (us: number): number => (totalUs > 0 ? (100 * us) / totalUs : 0);
  const spots = (map: Map<string, number>, filter: (key: string) => boolean = () => true): HotSpot[] =>
    [...map.entries()]
      .filter(([key]) => filter(key))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, selfMs: us / 1000, selfPct: pct(us) }));
  const ownCode = (key: string): boolean => /\((shared|functions)\//.test(key);
  let file: string | null = null;
  if (options.saveTo) {
    writeFileSync(options.saveTo, JSON.stringify(cpu));
    file = options.saveTo;
  }
  return {
    totalMs: totalUs / 1000,
    samples: cpu.samples.length,
    topSelf: spots(self),
    topTotal: [...total.entries()]
      .filter(([key]) => ownCode(key))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, selfMs: (self.get(where) ?? 0) / 1000, selfPct: pct(self.get(where) ?? 0), totalMs: us / 1000, totalPct: pct(us) })),
    byFile: spots(files),
    file,
  };
}

export function formatSummary(summary: ProfileSummary, title: string): string {
  const line = (s: HotSpot): string =>
    `  ${s.selfPct.toFixed(1).padStart(5)}% self ${s.selfMs.toFixed(0).padStart(7)} ms` +
    (s.totalMs !== undefined ? `  ${(s.totalPct ?? 0).toFixed(1).padStart(5)}% total` : '') +
    `  ${s.where}`;
  return [
    `${title}: ${summary.totalMs.toFixed(0)} ms sampled (${summary.samples} samples)${summary.file ? `, profile saved to ${summary.file}` : ''}`,
    ' self time by function:',
    ...summary.topSelf.map(line),
    ' inclusive time of project functions:',
    ...summary.topTotal.map(line),
    ' self time by file:',
    ...summary.byFile.map(line),
  ].join('\n');
}

/**
 * Makes the demo's recorded answer behave like Defender: only rows whose ingestion time falls in
 * the window the query asks for (`let WindowStart = datetime(...)`, `let WindowEnd = ...`) come
 * back, so chunked backfill, overlaps and a second run over the same storage behave as in
 * production.
 */
import type { HuntingQueryResults } from '../hunting/types';

const WINDOW_PATTERN = /let\s+Window(Start|End)\s*=\s*datetime\(\s*([^)]+?)\s*\)/g;

export function windowOfQuery(query: string): { start: number; end: number } | null {
  let start: number | null = null;
  let end: number | null = null;
  for (const match of query.matchAll(WINDOW_PATTERN)) {
    const time = Date.parse(match[2] ?? '');
    if (Number.isNaN(time)) return null;
    if (match[1] === 'Start') start = time;
    else end = time;
  }
  return start !== null && end !== null ? { start, end } : null;
}

export function rowsForQuery(results: HuntingQueryResults, query: string): HuntingQueryResults {
  const window = windowOfQuery(query);
  if (!window) return results;
  return {
    schema: results.schema,
    results: results.results.filter((row) => {
      const value = row.IngestionTime ?? row.Timestamp;
      const ingested = typeof value === 'string' ? Date.parse(value) : NaN;
      return !Number.isNaN(ingested) && ingested >= window.start && ingested < window.end;
    }),
  };
}

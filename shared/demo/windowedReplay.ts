/**
 * Makes the demo's recorded answers behave like Defender: only rows whose ingestion time falls in
 * the window the query asks for (`let WindowStart = datetime(...)`, `let WindowEnd = ...`) come
 * back, so chunked backfill, overlaps and a second run over the same storage behave as in
 * production, at most the rows the query's `| take N` allows; and each rule's query is answered from that rule's sample, recognised by the
 * `// Rule <id>:` comment every rule query carries (shared/rules/rule.ts ruleIdOfQuery).
 */
import type { HuntingQueryResults } from '../hunting/types';
import { ruleIdOfQuery } from '../rules/rule';

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

/** The `| take N` that bounds the rendered query (shared/app/huntRuntime.ts huntRuleOf), if any. */
export function takeOfQuery(query: string): number | null {
  const match = /\|\s*take\s+(\d+)\s*$/.exec(query);
  return match ? Number(match[1]) : null;
}

export function rowsForQuery(results: HuntingQueryResults, query: string): HuntingQueryResults {
  const window = windowOfQuery(query);
  const take = takeOfQuery(query) ?? Number.POSITIVE_INFINITY;
  if (!window) return { schema: results.schema, results: results.results.slice(0, take) };
  return {
    schema: results.schema,
    results: results.results
      .filter((row) => {
        const value = row.IngestionTime ?? row.Timestamp;
        const ingested = typeof value === 'string' || typeof value === 'number' ? Date.parse(String(value)) : Number.NaN;
        return !Number.isNaN(ingested) && ingested >= window.start && ingested < window.end;
      })
      .slice(0, take),
  };
}

/**
 * The sample a query is answered from: the one of the rule its `// Rule <id>:` comment names; a
 * query without that comment gets `fallbackRuleId`'s sample (as before there were several); a
 * rule without a sample gets no rows.
 */
export function sampleForQuery(
  samples: ReadonlyMap<string, HuntingQueryResults>,
  query: string,
  fallbackRuleId: string,
): HuntingQueryResults {
  const ruleId = ruleIdOfQuery(query) ?? fallbackRuleId;
  return samples.get(ruleId) ?? { schema: [], results: [] };
}

/** `rowsForQuery` on the sample of the query's rule (see `sampleForQuery`). */
export function rowsForRuleQuery(
  samples: ReadonlyMap<string, HuntingQueryResults>,
  query: string,
  fallbackRuleId: string,
): HuntingQueryResults {
  return rowsForQuery(sampleForQuery(samples, query, fallbackRuleId), query);
}

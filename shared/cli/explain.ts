/**
 * `explain FILE [--allowlist FILE] [--rule ID]`: a Graph `huntingQueryResults` JSON file in, one
 * Finding JSON object per result row out (input order, stdout). Rows that do not fit are reported
 * on stderr with their index and reason; the exit code is 1 only when the file itself is unusable.
 */
import { readFile } from 'node:fs/promises';
import { loadAllowlistFile } from '../allowlist/file';
import { compileAllowlist, suppress } from '../allowlist/matcher';
import { normaliseHuntingResults } from '../hunting/graphClient';
import { normaliseResults } from '../normalise/normalise';
import { parseOptions, UsageError, type CliIo } from './io';

export async function runExplainCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['allowlist', 'rule', 'tenant'] });
  const file = positional[0];
  if (!file || positional.length > 1) throw new UsageError('explain takes exactly one FILE');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    io.stderr(`explain: cannot read ${file} as JSON: ${(error as Error).message}\n`);
    return 1;
  }
  let results;
  try {
    results = normaliseHuntingResults(json);
  } catch (error) {
    io.stderr(`explain: ${file} is not a Graph huntingQueryResults answer: ${(error as Error).message}\n`);
    return 1;
  }
  const { findings, rejected } = normaliseResults(results, { ruleId: values.rule ?? 't1587-002' });
  let output = findings;
  if (values.allowlist) {
    const entries = await loadAllowlistFile(values.allowlist);
    const matcher = compileAllowlist(entries, new Date());
    output = suppress(findings, matcher, values.tenant ?? 'default').findings;
  }
  for (const finding of output) io.stdout(`${JSON.stringify(finding)}\n`);
  for (const row of rejected) io.stderr(`explain: row ${row.index} skipped: ${row.reason}\n`);
  return 0;
}

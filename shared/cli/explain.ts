/**
 * `explain FILE [--allowlist FILE] [--rule ID]`: saved hunting results in (a Graph
 * `huntingQueryResults` answer or the Defender portal's CSV export, full or as the published query
 * shapes them; the format is detected), one Finding JSON object per row out (input order, stdout).
 * What the reader assumed, and every row that could not be used (with its position and reason), go
 * to stderr with a count. Exit 1 when the file is unusable or when rows were given and none could
 * be used.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadAllowlistFile } from '../allowlist/file';
import { compileAllowlist, suppress } from '../allowlist/matcher';
import { normaliseResults } from '../normalise/normalise';
import { HuntingResultsFileError, readHuntingResults, type HuntingResultsFile } from '../results/read';
import { parseOptions, UsageError, type CliIo } from './io';

export async function runExplainCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['allowlist', 'rule', 'tenant'] });
  const file = positional[0];
  if (!file || positional.length > 1) throw new UsageError('explain takes exactly one FILE');
  let input: HuntingResultsFile;
  try {
    input = readHuntingResults(await readFile(file, 'utf8'), { name: basename(file) });
  } catch (error) {
    const reason = error instanceof HuntingResultsFileError ? error.message : `cannot read ${file}: ${(error as Error).message}`;
    io.stderr(`explain: ${reason}\n`);
    return 1;
  }
  for (const note of input.notes) io.stderr(`explain: note: ${note}\n`);
  const { findings, rejected } = normaliseResults(input, { ruleId: values.rule ?? 't1587-002' });
  let output = findings;
  if (values.allowlist) {
    const entries = await loadAllowlistFile(values.allowlist);
    const matcher = compileAllowlist(entries, new Date());
    output = suppress(findings, matcher, values.tenant ?? 'default').findings;
  }
  for (const finding of output) io.stdout(`${JSON.stringify(finding)}\n`);
  const where = (index: number): string => {
    const line = input.lines[index];
    return line === undefined ? `row ${index}` : `row ${index} (line ${line})`;
  };
  for (const record of input.rejected) io.stderr(`explain: line ${record.line} skipped: ${record.reason}\n`);
  for (const row of rejected) io.stderr(`explain: ${where(row.index)} skipped: ${row.reason}\n`);
  const total = input.results.length + input.rejected.length;
  const skipped = rejected.length + input.rejected.length;
  if (skipped > 0) io.stderr(`explain: ${skipped} of ${total} rows skipped\n`);
  return total > 0 && findings.length === 0 ? 1 : 0;
}

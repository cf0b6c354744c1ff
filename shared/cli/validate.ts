/**
 * `validate [--rules DIR]`: loads every rule (metadata checked) and runs its query, rendered for a
 * sample window, through the official Kusto parser against the Advanced Hunting schema. Any error
 * diagnostic fails the command, naming the file, line and column.
 */
import { formatDiagnostic, hasErrors, validateKql } from '../kusto/validate';
import { loadRules } from '../rules/loadRules';
import { renderQuery } from '../rules/renderQuery';
import { parseOptions, UsageError, type CliIo } from './io';

export async function runValidateCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['rules'] });
  if (positional.length > 0) throw new UsageError('validate takes no arguments');
  let rules;
  try {
    rules = loadRules(values.rules);
  } catch (error) {
    io.stderr(`validate: ${(error as Error).message}\n`);
    return 1;
  }
  if (rules.length === 0) {
    io.stderr(`validate: no rules found${values.rules ? ` in ${values.rules}` : ''}\n`);
    return 1;
  }
  const window = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-01T00:10:00Z') };
  let failed = 0;
  for (const rule of rules) {
    const diagnostics = validateKql(renderQuery(rule, window));
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (hasErrors(diagnostics)) {
      failed++;
      io.stdout(`FAIL ${rule.id} (${rule.files.query})\n`);
      for (const d of errors) io.stdout(`  ${formatDiagnostic(d, rule.files.query)}\n`);
    } else {
      const warnings = diagnostics.length - errors.length;
      io.stdout(`ok   ${rule.id} v${rule.version}: ${rule.name}${warnings ? ` (${warnings} warning(s))` : ''}\n`);
    }
  }
  io.stdout(`${rules.length - failed} of ${rules.length} rule(s) valid\n`);
  return failed > 0 ? 1 : 0;
}

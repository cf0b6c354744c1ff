/**
 * `export-rule --target sentinel|defender [--rule ID] [--out DIR]`: the rules written for native
 * deployment (shared/rules/export.ts): a Sentinel scheduled analytics rule as YAML, or the JSON body
 * of a Defender XDR custom detection (Graph `POST /beta/security/rules/detectionRules`). Every
 * exported query goes through the Kusto parser first; a query with an error diagnostic is not
 * written. Without --out the output goes to stdout (YAML documents separated by `---`, or a JSON
 * array of request bodies); with --out, one file per rule.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeKql, formatDiagnostic } from '../kusto/validate';
import { DEFENDER_REQUIRED_COLUMNS, defenderDetectionRule, EXPORT_TARGETS, sentinelRule, sentinelRuleYaml, type ExportTarget } from '../rules/export';
import { loadRules } from '../rules/loadRules';
import type { RuleDefinition } from '../rules/rule';
import { parseOptions, UsageError, type CliIo } from './io';

interface Exported {
  rule: RuleDefinition;
  file: string;
  text: string;
  body: unknown;
  query: string;
}

function exportOne(rule: RuleDefinition, target: ExportTarget): Exported {
  if (target === 'sentinel') {
    const body = sentinelRule(rule);
    return { rule, file: `${rule.id}.sentinel.yaml`, text: sentinelRuleYaml(rule), body, query: body.query };
  }
  const body = defenderDetectionRule(rule);
  return { rule, file: `${rule.id}.defender.json`, text: `${JSON.stringify(body, null, 2)}\n`, body, query: body.queryCondition.queryText };
}

/** Problems of an exported query: Kusto errors, and for Defender the columns a custom detection needs. */
function queryProblems(exported: Exported, target: ExportTarget): string[] {
  const { diagnostics, resultColumns } = analyzeKql(exported.query);
  const problems = diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, exported.file));
  if (target === 'defender') {
    const names = new Set((resultColumns ?? []).map((c) => c.name));
    for (const column of DEFENDER_REQUIRED_COLUMNS) if (!names.has(column)) problems.push(`${exported.file}: the results lack ${column}, which a custom detection needs`);
  }
  return problems;
}

export async function runExportRuleCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['target', 'rule', 'rules', 'out'] });
  if (positional.length > 0) throw new UsageError('export-rule takes no arguments');
  const target = values.target as ExportTarget | undefined;
  if (!target || !EXPORT_TARGETS.includes(target)) throw new UsageError(`export-rule needs --target ${EXPORT_TARGETS.join('|')}`);
  const all = loadRules(values.rules);
  const rules = values.rule ? all.filter((r) => r.id === values.rule) : all;
  if (rules.length === 0) {
    io.stderr(`export-rule: no rule ${values.rule ?? ''} (rules: ${all.map((r) => r.id).join(', ')})\n`);
    return 1;
  }
  const exported = rules.map((rule) => exportOne(rule, target));
  const problems = exported.flatMap((e) => queryProblems(e, target));
  if (problems.length > 0) {
    for (const problem of problems) io.stderr(`export-rule: ${problem}\n`);
    return 1;
  }
  if (values.out) {
    await mkdir(values.out, { recursive: true });
    for (const e of exported) {
      await writeFile(join(values.out, e.file), e.text, 'utf8');
      io.stdout(`${join(values.out, e.file)}\n`);
    }
    return 0;
  }
  if (target === 'sentinel') io.stdout(exported.map((e) => e.text).join('---\n'));
  else io.stdout(`${JSON.stringify(exported.length === 1 ? exported[0]!.body : exported.map((e) => e.body), null, 2)}\n`);
  return 0;
}

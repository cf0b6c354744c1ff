/**
 * Owns reading rules from disk: locating the project's `rules/` folder (from TypeScript source
 * under jest or from compiled `dist/shared/rules/`), and loading every `rules/<id>/rule.yaml`
 * with its `query.kql` into validated `RuleDefinition`s.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { parseRuleDefinition, RuleValidationError, type RuleDefinition } from './rule';

/** The `name` in the package.json that marks the project root. */
export const PROJECT_NAME = 'codesign-hunt';
export const RULE_FILE = 'rule.yaml';
export const QUERY_FILE = 'query.kql';

/**
 * The nearest folder at or above `startDir` whose package.json is named codesign-hunt. Works
 * from `shared/rules/` (ts-jest) and from `dist/shared/rules/` (compiled) alike.
 */
export function findProjectRoot(startDir: string = __dirname): string {
  let dir = path.resolve(startDir);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readPackageName(manifest) === PROJECT_NAME) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`No package.json named ${PROJECT_NAME} at or above ${path.resolve(startDir)}`);
    }
    dir = parent;
  }
}

/** `<project root>/rules` */
export function defaultRulesDir(): string {
  return path.join(findProjectRoot(), 'rules');
}

/**
 * Loads every rule folder under `rulesDir` (default: the project's `rules/`), sorted by id.
 * Every sub-folder not starting with `.` is a rule and must hold rule.yaml and query.kql.
 * Throws `RuleValidationError` (naming the file and field) on the first invalid rule.
 */
export function loadRules(rulesDir: string = defaultRulesDir()): RuleDefinition[] {
  const root = path.resolve(rulesDir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new Error(`Rules folder ${root} does not exist`);
  }
  const rules = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => loadRule(path.join(root, entry.name)));
  const seen = new Map<string, string>();
  for (const rule of rules) {
    const other = seen.get(rule.id);
    if (other !== undefined) throw new RuleValidationError(rule.files.rule, [`id: ${rule.id} is also used by ${other}`]);
    seen.set(rule.id, rule.files.rule);
  }
  return rules.sort((a, b) => a.id.localeCompare(b.id));
}

/** Loads one rule folder; its rule id must equal the folder name. */
export function loadRule(ruleDir: string): RuleDefinition {
  const dir = path.resolve(ruleDir);
  const ruleFile = path.join(dir, RULE_FILE);
  const queryFile = path.join(dir, QUERY_FILE);
  for (const file of [ruleFile, queryFile]) {
    if (!fs.existsSync(file)) throw new RuleValidationError(file, ['file is missing']);
  }
  const doc = parseDocument(fs.readFileSync(ruleFile, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RuleValidationError(ruleFile, doc.errors.map((e) => `YAML: ${e.message}`));
  }
  const query = fs.readFileSync(queryFile, 'utf8');
  const rule = parseRuleDefinition(doc.toJS(), { ruleFile, queryFile, dir, query });
  const folder = path.basename(dir);
  if (rule.id !== folder) {
    throw new RuleValidationError(ruleFile, [`id: '${rule.id}' must equal its folder name '${folder}'`]);
  }
  return rule;
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const name = typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tests every rule folder under rules/ (through shared/rules/loadRules.ts): unique ids equal
 * to folder names, complete metadata, Graph-shaped positive/negative fixtures (and expectations)
 * with exactly the projected columns, sane schedule, and a query (and pivots) the Kusto language
 * service accepts whose result is RESULT_COLUMNS in order plus only OPTIONAL_RESULT_COLUMNS. Also
 * tests the column contract checker and the loader's error reporting.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SEVERITIES } from '../../../shared/model/finding';
import { analyzeKql, findTable, formatDiagnostic, graphTypeOf, hasErrors, validateKql } from '../../../shared/kusto/validate';
import { defaultRulesDir, findProjectRoot, loadRule, loadRules } from '../../../shared/rules/loadRules';
import { renderPivot, renderQuery } from '../../../shared/rules/renderQuery';
import {
  CONFIDENCES,
  FALSE_POSITIVE_MATCHERS,
  OPTIONAL_RESULT_COLUMNS,
  RESULT_COLUMNS,
  RULE_BRANCHES,
  RuleValidationError,
  resultColumnProblems,
  ruleIdOfQuery,
  type RuleDefinition,
} from '../../../shared/rules/rule';

const WINDOW = { start: new Date('2024-05-14T08:00:00Z'), end: new Date('2024-05-14T08:10:00Z') };
const PIVOT_VALUES = { deviceId: 'e28003b3048f83a1091d0d975ba2cbfd3a3e6e3f', from: WINDOW.start, to: WINDOW.end };

interface GraphResults {
  schema: { name: string; type: string }[];
  results: Record<string, unknown>[];
}

interface Expectations {
  window: { start: string; end: string };
  positive: { DeviceId: string; ReportId: number; Timestamp: string; branch: string; isSuspiciousParent: boolean; isTempLocation: boolean }[];
  negative: { DeviceId: string; ReportId: number; Timestamp: string; why: string }[];
}

const rulesDir = defaultRulesDir();
const folders = fs
  .readdirSync(rulesDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
  .map((e) => e.name)
  .sort();
const rules = loadRules();

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The columns a rule's rendered query projects (name and Kusto type), analysed once per rule. */
const projected = new Map<string, { name: string; type: string }[]>();
function projectedColumns(rule: RuleDefinition): { name: string; type: string }[] {
  let columns = projected.get(rule.id);
  if (!columns) {
    columns = analyzeKql(renderQuery(rule, WINDOW)).resultColumns ?? [];
    projected.set(rule.id, columns);
  }
  return columns;
}

/** Checks one value against its Graph type; returns a problem or null. */
function typeProblem(value: unknown, graphType: string): string | null {
  switch (graphType) {
    case 'DateTime':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/.test(value) ? null : 'not an ISO 8601 UTC datetime';
    case 'String':
      return typeof value === 'string' ? null : 'not a string';
    case 'Int64':
    case 'Int32':
      return Number.isSafeInteger(value) ? null : 'not an integer';
    case 'Boolean':
      return typeof value === 'boolean' ? null : 'not a boolean';
    default:
      return `unexpected Graph type ${graphType}`;
  }
}

/** Problems of a fixture against Graph's answer shape for the rule's projected columns. */
function graphShapeProblems(file: string, columns: readonly { name: string; type: string }[]): string[] {
  const expectedSchema = columns.map((c) => ({ name: c.name, type: graphTypeOf(c.type) }));
  const data = readJson<Record<string, unknown>>(file);
  const problems: string[] = [];
  const keys = Object.keys(data).sort();
  if (keys.join(',') !== 'results,schema') problems.push(`top-level keys are ${keys.join(', ')}, want exactly schema and results`);
  const { schema, results } = data as unknown as GraphResults;
  if (JSON.stringify(schema) !== JSON.stringify(expectedSchema)) problems.push("schema is not the query's projected columns with Graph types, in order");
  if (!Array.isArray(results) || results.length === 0) return [...problems, 'results is empty'];
  results.forEach((row, i) => {
    const names = Object.keys(row);
    if (names.join(',') !== columns.map((c) => c.name).join(',')) problems.push(`results[${i}] columns differ from the projected columns`);
    for (const column of expectedSchema) {
      const problem = typeProblem(row[column.name], column.type);
      if (problem) problems.push(`results[${i}].${column.name}: ${problem}`);
    }
  });
  return problems;
}

const rowKey = (r: { DeviceId: unknown; ReportId: unknown; Timestamp: unknown }) => `${String(r.DeviceId)}|${String(r.ReportId)}|${String(r.Timestamp)}`;

describe('rule folders', () => {
  it('every folder is a loaded rule whose id equals its folder name; ids are unique', () => {
    expect(folders.length).toBeGreaterThan(0);
    expect(rules.map((r) => r.id)).toEqual(folders);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const rule of rules) expect(path.basename(rule.dir)).toBe(rule.id);
  });

  describe.each(rules.map((rule) => [rule.id, rule] as const))('%s', (_id, rule: RuleDefinition) => {
    const fixtures = path.join(rule.dir, 'fixtures');

    it('has complete metadata', () => {
      expect(rule.name.length).toBeGreaterThan(10);
      expect(rule.description.length).toBeGreaterThan(50);
      expect(rule.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(SEVERITIES).toContain(rule.severity);
      expect(CONFIDENCES).toContain(rule.confidence);
      expect(rule.attack.length).toBeGreaterThan(0);
      for (const technique of rule.attack) {
        expect(technique.id).toMatch(/^T\d{4}(\.\d{3})?$/);
        expect(technique.url).toBe(`https://attack.mitre.org/techniques/${technique.id.replace('.', '/')}/`);
        expect(technique.name && technique.tactic).toBeTruthy();
      }
      expect(rule.falsePositives.length).toBeGreaterThan(0);
      for (const fp of rule.falsePositives) {
        expect(fp.hint.length).toBeGreaterThan(10);
        expect(FALSE_POSITIVE_MATCHERS.some((m) => (fp[m]?.length ?? 0) > 0)).toBe(true);
      }
      expect(new Set(rule.falsePositives.map((fp) => fp.id)).size).toBe(rule.falsePositives.length);
      expect(rule.triage.length).toBeGreaterThan(0);
      expect(rule.knownGaps.length).toBeGreaterThan(0);
      expect(rule.branches.length).toBeGreaterThan(0);
      for (const branch of rule.branches) expect(RULE_BRANCHES).toContain(branch.id);
    });

    it('declares tables that exist in the schema and are used by the query or a pivot', () => {
      const texts = [rule.query, ...rule.pivots.map((p) => p.query)];
      for (const table of [...rule.requiredTables, ...rule.optionalTables]) {
        expect(findTable(table)).toBeDefined();
        expect(texts.some((t) => new RegExp(`\\b${table}\\b`).test(t))).toBe(true);
      }
    });

    it('has a schedule whose lookback covers the interval', () => {
      expect(rule.schedule.interval.ms).toBeGreaterThan(0);
      expect(rule.lookback.ms).toBeGreaterThanOrEqual(rule.schedule.interval.ms);
      expect(rule.overlap.ms).toBeLessThan(rule.schedule.interval.ms);
      expect(rule.ingestionDelay.ms).toBeGreaterThanOrEqual(0);
    });

    it('names itself in a `// Rule <id>:` comment (the demo Graph server routes on it)', () => {
      expect(ruleIdOfQuery(rule.query)).toBe(rule.id);
      expect(ruleIdOfQuery(renderQuery(rule, WINDOW))).toBe(rule.id);
    });

    it('is window-aware: placeholders first, ingestion_time() window, no ago()', () => {
      const lines = rule.query.split(/\r?\n/);
      expect(lines[0]).toBe('let WindowStart = datetime({{WindowStart}});');
      expect(lines[1]).toBe('let WindowEnd = datetime({{WindowEnd}});');
      expect(rule.query).toContain('ingestion_time() >= WindowStart and ingestion_time() < WindowEnd');
      const code = rule.query.replace(/(^|\s)\/\/.*$/gm, '$1');
      expect(code).not.toMatch(/\bago\s*\(/);
      expect(code).not.toMatch(/\bnow\s*\(/);
    });

    it('renders to a query with zero error diagnostics that projects RESULT_COLUMNS in order plus only optional columns', () => {
      const { diagnostics, resultColumns } = analyzeKql(renderQuery(rule, WINDOW));
      expect(diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, rule.files.query))).toEqual([]);
      expect(resultColumns?.slice(0, RESULT_COLUMNS.length)).toEqual(RESULT_COLUMNS.map((c) => ({ name: c.name, type: c.type })));
      expect(resultColumnProblems(resultColumns ?? [])).toEqual([]);
    });

    it('has pivots that render and validate', () => {
      for (const pivot of rule.pivots) {
        const diagnostics = validateKql(renderPivot(pivot, PIVOT_VALUES));
        expect({ pivot: pivot.id, errors: diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d)) }).toEqual({
          pivot: pivot.id,
          errors: [],
        });
      }
    });

    it.each(['positive.json', 'negative.json'])('has a Graph-shaped %s with exactly the projected columns', (name) => {
      const file = path.join(fixtures, name);
      expect(fs.existsSync(file)).toBe(true);
      expect(graphShapeProblems(file, projectedColumns(rule))).toEqual([]);
    });

    it('has positive rows for every branch (at least two each) and negative rows that match no branch', () => {
      const positive = readJson<GraphResults>(path.join(fixtures, 'positive.json')).results;
      const negative = readJson<GraphResults>(path.join(fixtures, 'negative.json')).results;
      for (const branch of rule.branches) {
        expect({ branch: branch.id, rows: positive.filter((r) => r.DetectionBranch === branch.id).length >= 2 }).toEqual({ branch: branch.id, rows: true });
      }
      const declared = rule.branches.map((b) => b.id as string);
      for (const row of positive) expect(declared).toContain(row.DetectionBranch);
      for (const row of negative) expect(row.DetectionBranch).toBe('');
      const timestamps = positive.map((r) => String(r.Timestamp));
      expect(timestamps).toEqual([...timestamps].sort());
    });

    it('has expectations for every fixture row', () => {
      const file = path.join(fixtures, 'expectations.json');
      expect(fs.existsSync(file)).toBe(true);
      const expectations = readJson<Expectations>(file);
      const positive = readJson<GraphResults>(path.join(fixtures, 'positive.json')).results;
      const negative = readJson<GraphResults>(path.join(fixtures, 'negative.json')).results;
      const start = Date.parse(expectations.window.start);
      const end = Date.parse(expectations.window.end);
      const byKey = new Map(expectations.positive.map((e) => [rowKey(e), e]));
      expect(byKey.size).toBe(positive.length);
      for (const row of positive) {
        const e = byKey.get(rowKey(row as never));
        expect(e).toBeDefined();
        expect([row.DetectionBranch, row.IsSuspiciousParent, row.IsTempLocation]).toEqual([e?.branch, e?.isSuspiciousParent, e?.isTempLocation]);
      }
      expect(new Set(expectations.negative.map(rowKey))).toEqual(new Set(negative.map((r) => rowKey(r as never))));
      for (const row of [...positive, ...negative]) {
        const ingested = Date.parse(String(row.IngestionTime));
        expect(ingested >= start && ingested < end).toBe(true);
        expect(Date.parse(String(row.Timestamp))).toBeLessThanOrEqual(ingested);
      }
    });
  });
});

describe('renamed tools (t1587-002)', () => {
  const rule = rules.find((r) => r.id === 't1587-002')!;

  it('keys every tool branch on the PE original file name as well as the file name', () => {
    for (const list of ['MakecertTools', 'PowerShellTools', 'OpensslTools', 'CertutilTools', 'SigntoolTools']) {
      expect(rule.query).toContain(`FileName in~ (${list}) or ProcessVersionInfoOriginalFileName in~ (${list})`);
    }
  });

  it('has positive fixture rows of renamed tools, each in its branch', () => {
    const positive = readJson<GraphResults>(path.join(rule.dir, 'fixtures', 'positive.json')).results;
    const renamed = positive.filter((r) => {
      const original = String(r.ProcessVersionInfoOriginalFileName).toLowerCase();
      return original !== '' && original !== String(r.FileName).toLowerCase();
    });
    expect(renamed.map((r) => [r.FileName, r.ProcessVersionInfoOriginalFileName, r.DetectionBranch])).toEqual(
      expect.arrayContaining([
        ['mc.exe', 'MakeCert.exe', 'MakeCert-NativeSDK'],
        [expect.any(String), 'signtool.exe', 'SignTool-ExecutableSigning'],
      ]),
    );
  });
});

describe('result column contract', () => {
  const base: { name: string; type: string }[] = RESULT_COLUMNS.map((c) => ({ name: c.name, type: c.type }));
  const optional = (name: string) => ({ name, type: 'string' });

  it('accepts the base columns alone and with optional columns in their order', () => {
    expect(resultColumnProblems(base)).toEqual([]);
    expect(resultColumnProblems([...base, ...OPTIONAL_RESULT_COLUMNS.map((c) => ({ name: c.name, type: c.type }))])).toEqual([]);
    expect(resultColumnProblems([...base, optional('CertificateAction'), optional('SignedFile')])).toEqual([]);
  });

  it('names a missing, renamed or retyped base column', () => {
    expect(resultColumnProblems(base.slice(0, -1))).toEqual(['column 22: DecodedCommand (string) is missing']);
    const retyped = base.map((c) => (c.name === 'ReportId' ? { name: 'ReportId', type: 'string' } : c));
    expect(resultColumnProblems(retyped)).toEqual(['column 5: expected ReportId (long), got ReportId (string)']);
  });

  it('rejects unknown, repeated, out-of-order and mistyped optional columns', () => {
    expect(resultColumnProblems([...base, optional('RegistryKey')])[0]).toMatch(/^column 23: RegistryKey is neither a base column nor one of CertificateAction/);
    expect(resultColumnProblems([...base, optional('SignedFile'), optional('CertificateAction')])).toEqual([
      'column 24: CertificateAction is out of order or repeated (order: CertificateAction, CertificateTool, CertificateSubject, CertificateThumbprint, CertificateStore, CertificateFile, SignedFile)',
    ]);
    expect(resultColumnProblems([...base, optional('CertificateTool'), optional('CertificateTool')])).toHaveLength(1);
    expect(resultColumnProblems([...base, { name: 'CertificateStore', type: 'dynamic' }])).toEqual(['column 23: CertificateStore must be string, got dynamic']);
  });

  it('reads the rule id from a query comment', () => {
    expect(ruleIdOfQuery('let A = 1;\n// Rule trust-store-tampering: certificates\nT')).toBe('trust-store-tampering');
    expect(ruleIdOfQuery('// rule x: lower-case is not the marker')).toBeNull();
  });
});

describe('loader', () => {
  // The edits below are written against the process rule's rule.yaml.
  const source = rules.find((r) => r.id === 't1587-002')!;
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codesign-rules-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Copies the first real rule into tmp/<folder>, optionally editing rule.yaml / query.kql. */
  function writeRule(folder: string, edit: { yaml?: (s: string) => string; query?: (s: string) => string } = {}): string {
    const dir = path.join(tmp, folder);
    fs.mkdirSync(dir);
    const yaml = fs.readFileSync(source.files.rule, 'utf8');
    fs.writeFileSync(path.join(dir, 'rule.yaml'), edit.yaml ? edit.yaml(yaml) : yaml);
    fs.writeFileSync(path.join(dir, 'query.kql'), edit.query ? edit.query(source.query) : source.query);
    return dir;
  }

  function loadError(dir: string): RuleValidationError {
    try {
      loadRule(dir);
    } catch (e) {
      if (e instanceof RuleValidationError) return e;
      throw e;
    }
    throw new Error('expected a RuleValidationError');
  }

  it('finds the project root from source and from a dist/ build location', () => {
    const root = findProjectRoot();
    expect(fs.existsSync(path.join(root, 'rules'))).toBe(true);
    expect(findProjectRoot(path.join(root, 'dist', 'shared', 'rules'))).toBe(root);
    expect(() => findProjectRoot(os.tmpdir())).toThrow(/codesign-hunt/);
  });

  it('loads a copied rule from another rules folder', () => {
    writeRule(source.id);
    expect(loadRules(tmp).map((r) => r.id)).toEqual([source.id]);
  });

  it('names the file and the field when a required field is missing', () => {
    const dir = writeRule(source.id, { yaml: (s) => s.replace(/^severity: .*$/m, '') });
    const error = loadError(dir);
    expect(error.file).toBe(path.join(dir, 'rule.yaml'));
    expect(error.message).toContain(path.join(dir, 'rule.yaml'));
    expect(error.problems).toContain('severity: required field is missing');
  });

  it('names nested fields and lists every problem', () => {
    const dir = writeRule(source.id, {
      yaml: (s) => s.replace('url: https://attack.mitre.org/techniques/T1587/002/', 'url: not a url').replace('confidence: medium', 'confidence: maybe'),
    });
    const error = loadError(dir);
    expect(error.problems.some((p) => p.startsWith('attack[0].url:'))).toBe(true);
    expect(error.problems).toContain('confidence: must be one of low, medium, high');
  });

  it('rejects unknown fields, bad durations and a lookback shorter than the interval', () => {
    expect(loadError(writeRule('a', { yaml: (s) => s.replace('id: t1587-002', 'id: a\nowner: me') })).problems).toContain('owner: unknown field');
    expect(loadError(writeRule('b', { yaml: (s) => s.replace('id: t1587-002', 'id: b').replace('lookback: PT1H', 'lookback: 1 hour') })).problems[0]).toMatch(/^lookback:/);
    expect(loadError(writeRule('c', { yaml: (s) => s.replace('id: t1587-002', 'id: c').replace('lookback: PT1H', 'lookback: PT5M') })).problems).toEqual([
      'lookback: PT5M is shorter than schedule.interval PT10M; it must cover at least one interval',
    ]);
  });

  it('rejects a false positive without matchers or with a branch the rule does not declare', () => {
    const noMatcher = writeRule(source.id, {
      yaml: (s) => s.replace('    parents: [mmc.exe, certreq.exe, certsrv.exe, gpscript.exe, ServerManager.exe]\n', '').replace('branches: [CertUtil-StoreImport]\n', 'branches: [CertUtil-StoreImport, Other]\n'),
    });
    const problems = loadError(noMatcher).problems;
    expect(problems.some((p) => p.startsWith('falsePositives[1].branches[1]:'))).toBe(true);
    fs.rmSync(noMatcher, { recursive: true });
    const unmatched = writeRule(source.id, { yaml: (s) => s.replace('    parents: [mmc.exe, certreq.exe, certsrv.exe, gpscript.exe, ServerManager.exe]\n', '') });
    expect(loadError(unmatched).problems).toEqual([
      'falsePositives[0]: needs at least one matcher (parents, parentCommandLines, commandLines, paths, accounts, devices, subjects)',
    ]);
  });

  it('rejects an id that differs from the folder name', () => {
    expect(loadError(writeRule('t1587-002-copy')).problems).toEqual(["id: 't1587-002' must equal its folder name 't1587-002-copy'"]);
  });

  it('rejects a query without its window placeholders, naming query.kql', () => {
    const dir = writeRule(source.id, { query: (q) => q.replace('{{WindowEnd}}', '2024-01-01') });
    const error = loadError(dir);
    expect(error.file).toBe(path.join(dir, 'query.kql'));
    expect(error.problems).toEqual(['query: the placeholder {{WindowEnd}} is missing']);
  });

  it('reports YAML syntax errors and missing files with the file path', () => {
    const broken = writeRule(source.id, { yaml: (s) => `${s}\nbranches: [unclosed\n` });
    expect(loadError(broken).message).toMatch(/rule\.yaml.*\n.*YAML/);
    fs.rmSync(path.join(broken, 'query.kql'));
    expect(loadError(broken).file).toBe(path.join(broken, 'query.kql'));
  });

  it('keeps a broken query detectable: an unknown column is an error after rendering', () => {
    const rule = { ...source, query: source.query.replace('| project Timestamp,', '| project Timestamp, NoSuchColumn,') };
    expect(hasErrors(validateKql(renderQuery(rule, WINDOW)))).toBe(true);
  });
});

/**
 * Owns offline KQL validation: the Advanced Hunting schema as typed data
 * (`advanced-hunting-schema.json`), a Kusto database built from it, and `validateKql`, which
 * returns the language service's parse and semantic diagnostics (unknown columns, tables and
 * functions, type errors, syntax errors) without talking to Defender. The untyped library is
 * reached only through `./bridge`.
 */
import schemaJson from './advanced-hunting-schema.json';
import { loadKustoBridge, type KustoGlobals } from './bridge';

export interface SchemaColumn {
  name: string;
  /** Kusto scalar type: datetime, string, long, int, bool, real, dynamic, guid, timespan, decimal. */
  type: string;
}

export interface SchemaTable {
  name: string;
  columns: SchemaColumn[];
  /** Microsoft's reference page for the table. */
  reference?: string;
}

export interface AdvancedHuntingSchema {
  database: string;
  tables: SchemaTable[];
  /** Kusto type -> type name in Graph `huntingQueryResults.schema`. */
  graphTypes?: Record<string, string>;
}

export type KqlSeverity = 'error' | 'warning' | 'suggestion' | 'information';

export interface KqlDiagnostic {
  severity: KqlSeverity;
  /** Library code, e.g. KS142 (unknown name), KS005 (expected token), KS500 (analyzer). */
  code: string;
  message: string;
  /** Offset (UTF-16 code units) into the validated text, and length of the flagged span. */
  start: number;
  length: number;
  /** 1-based position of `start`. */
  line?: number;
  column?: number;
  /** `parser` for syntax and semantic diagnostics, `analyzer` for the opt-in analyzer hints. */
  source: 'parser' | 'analyzer';
}

export interface ValidateOptions {
  /**
   * Also run the library's analyzers (performance and correctness hints such as "avoid
   * contains"); they come back as warnings or suggestions. Off by default.
   */
  analyzers?: boolean;
}

export interface KqlAnalysis {
  diagnostics: KqlDiagnostic[];
  /** Columns (name and Kusto type) of the query's tabular result, or null if not tabular. */
  resultColumns: SchemaColumn[] | null;
}

/** The checked-in schema: DeviceProcessEvents, DeviceFileEvents, DeviceRegistryEvents, DeviceFileCertificateInfo. */
export const ADVANCED_HUNTING_SCHEMA: AdvancedHuntingSchema = checkSchema(schemaJson);

const globalsBySchema = new WeakMap<AdvancedHuntingSchema, KustoGlobals>();

/**
 * Parses and semantically analyses `query` against `schema` and returns its diagnostics, errors
 * first then by position. An empty array means the query is valid for that schema. Loads the
 * language service on first call (see `kustoBridgeStatus` in ./bridge for the load time).
 */
export function validateKql(
  query: string,
  schema: AdvancedHuntingSchema = ADVANCED_HUNTING_SCHEMA,
  options: ValidateOptions = {},
): KqlDiagnostic[] {
  return analyzeKql(query, schema, options).diagnostics;
}

/** `validateKql` plus the result columns the analysis inferred. */
export function analyzeKql(
  query: string,
  schema: AdvancedHuntingSchema = ADVANCED_HUNTING_SCHEMA,
  options: ValidateOptions = {},
): KqlAnalysis {
  const bridge = loadKustoBridge();
  const analysis = bridge.analyze(query, globalsFor(schema), { analyzers: options.analyzers === true });
  const lineStarts = lineStartsOf(query);
  const shape = (source: KqlDiagnostic['source']) => (d: (typeof analysis.diagnostics)[number]): KqlDiagnostic => {
    const { line, column } = positionOf(lineStarts, d.start);
    return { severity: severityOf(d.severity), code: d.code, message: d.message, start: d.start, length: d.length, line, column, source };
  };
  const diagnostics = [...analysis.diagnostics.map(shape('parser')), ...analysis.analyzerDiagnostics.map(shape('analyzer'))];
  diagnostics.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.start - b.start);
  return { diagnostics, resultColumns: analysis.resultColumns };
}

export function hasErrors(diagnostics: readonly KqlDiagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `file:line:column severity CODE: message`, for test failures and CLI output. */
export function formatDiagnostic(d: KqlDiagnostic, file = 'query'): string {
  return `${file}:${d.line ?? 0}:${d.column ?? 0} ${d.severity} ${d.code}: ${d.message}`;
}

export function findTable(name: string, schema: AdvancedHuntingSchema = ADVANCED_HUNTING_SCHEMA): SchemaTable | undefined {
  return schema.tables.find((t) => t.name === name);
}

/** Graph's name for a Kusto type (`datetime` -> `DateTime`); throws on a type the schema does not map. */
export function graphTypeOf(kustoType: string, schema: AdvancedHuntingSchema = ADVANCED_HUNTING_SCHEMA): string {
  const graphType = schema.graphTypes?.[kustoType];
  if (graphType === undefined) throw new Error(`No Graph type is mapped for Kusto type '${kustoType}'`);
  return graphType;
}

const SEVERITY_ORDER: Record<KqlSeverity, number> = { error: 0, warning: 1, suggestion: 2, information: 3 };

function severityOf(raw: string): KqlSeverity {
  switch (raw.toLowerCase()) {
    case 'warning':
      return 'warning';
    case 'suggestion':
      return 'suggestion';
    case 'information':
    case 'hidden':
      return 'information';
    default:
      return 'error';
  }
}

function globalsFor(schema: AdvancedHuntingSchema): KustoGlobals {
  let globals = globalsBySchema.get(schema);
  if (!globals) {
    globals = loadKustoBridge().createGlobals(schema.database, schema.tables);
    globalsBySchema.set(schema, globals);
  }
  return globals;
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function positionOf(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
}

function checkSchema(raw: unknown): AdvancedHuntingSchema {
  const fail = (what: string): never => {
    throw new Error(`shared/kusto/advanced-hunting-schema.json: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  const { database, tables, graphTypes } = raw as Record<string, unknown>;
  if (typeof database !== 'string' || database === '') fail('"database" must be a non-empty string');
  if (!Array.isArray(tables) || tables.length === 0) return fail('"tables" must be a non-empty array');
  const seen = new Set<string>();
  const checked = tables.map((table: unknown, i): SchemaTable => {
    const t = table as Record<string, unknown>;
    const name = t.name;
    if (typeof name !== 'string' || name === '') return fail(`tables[${i}].name must be a non-empty string`);
    if (seen.has(name)) fail(`table ${name} is listed twice`);
    seen.add(name);
    if (!Array.isArray(t.columns) || t.columns.length === 0) return fail(`${name}.columns must be a non-empty array`);
    const names = new Set<string>();
    const columns = t.columns.map((column: unknown, j): SchemaColumn => {
      const c = column as Record<string, unknown>;
      if (typeof c.name !== 'string' || typeof c.type !== 'string') return fail(`${name}.columns[${j}] needs string name and type`);
      if (names.has(c.name)) fail(`${name}.${c.name} is listed twice`);
      names.add(c.name);
      return { name: c.name, type: c.type };
    });
    return { name, columns, ...(typeof t.reference === 'string' ? { reference: t.reference } : {}) };
  });
  return {
    database: database as string,
    tables: checked,
    ...(typeof graphTypes === 'object' && graphTypes !== null ? { graphTypes: graphTypes as Record<string, string> } : {}),
  };
}

/**
 * Owns the Kusto language service (`@kusto/language-service-next`): loading its two Bridge.NET
 * scripts once, lazily, and the only contact with the untyped globals they define
 * (`Bridge`, `System`, `Kusto`). Everything outside this module sees the small typed surface
 * below; `shared/kusto/validate.ts` is the public entry point.
 *
 * The package works offline. Its scripts are not modules: `bridge.min.js` (the Bridge.NET
 * runtime) must run before `Kusto.Language.Bridge.min.js`, and both assign to the global object
 * of whoever requires them (under jest: the test file's sandbox global, so each test file loads
 * its own copy).
 */

/** One column of a table to declare to the language service; `type` is a Kusto scalar type name. */
export interface BridgeColumn {
  name: string;
  type: string;
}

export interface BridgeTable {
  name: string;
  columns: readonly BridgeColumn[];
}

/** Opaque handle to a `Kusto.Language.GlobalState` (built-ins plus one database). */
export interface KustoGlobals {
  readonly __brand: 'KustoGlobals';
}

/** A diagnostic exactly as the library reports it, before shaping in validate.ts. */
export interface BridgeDiagnostic {
  severity: string;
  code: string;
  category: string;
  message: string;
  start: number;
  length: number;
}

export interface BridgeAnalysis {
  /** Syntax and semantic diagnostics (`KustoCode.GetDiagnostics`). */
  diagnostics: BridgeDiagnostic[];
  /** Analyzer findings (`KustoCodeService.GetAnalyzerDiagnostics`), only when asked for. */
  analyzerDiagnostics: BridgeDiagnostic[];
  /** Columns of the query's tabular result, or null when the result is not a table. */
  resultColumns: BridgeColumn[] | null;
}

export interface KustoBridge {
  /** Wall-clock milliseconds the two scripts took to load (measured once). */
  readonly loadMs: number;
  /** Builds globals holding one database; throws on a type name Kusto does not know. */
  createGlobals(database: string, tables: readonly BridgeTable[]): KustoGlobals;
  /** `KustoCode.ParseAndAnalyze` against the globals. */
  analyze(query: string, globals: KustoGlobals, options: { analyzers: boolean }): BridgeAnalysis;
}

const PACKAGE = '@kusto/language-service-next';

let cached: KustoBridge | undefined;

/** Loads the language service on first use and returns the same instance afterwards. */
export function loadKustoBridge(): KustoBridge {
  if (!cached) cached = load();
  return cached;
}

/** Whether the scripts are loaded in this module registry, and how long that took. */
export function kustoBridgeStatus(): { loaded: boolean; loadMs: number | null } {
  return { loaded: cached !== undefined, loadMs: cached?.loadMs ?? null };
}

/*
 * Untyped zone. The scripts' own d.ts declares ambient namespaces for the whole 1.7 MB API;
 * pulling it into the program would make `Kusto`/`Bridge` globals visible everywhere, so the
 * handful of members used here are reached through `any` instead, and only inside this block.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call,
   @typescript-eslint/no-unsafe-return */

function load(): KustoBridge {
  const started = process.hrtime.bigint();
  const g = globalThis as any;
  if (g.Kusto?.Language?.KustoCode === undefined) {
    // The scripts define globals as a side effect; the resolved paths keep this offline and
    // independent of the package's "main" field.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(require.resolve(`${PACKAGE}/bridge.min.js`));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(require.resolve(`${PACKAGE}/Kusto.Language.Bridge.min.js`));
  }
  const kusto = g.Kusto?.Language;
  if (!kusto?.KustoCode || !kusto.Symbols?.ScalarTypes) {
    throw new Error(`${PACKAGE}: the scripts loaded but did not define Kusto.Language`);
  }
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
  const symbols = kusto.Symbols;

  const list = (items: any): any[] => {
    const out: any[] = [];
    if (!items) return out;
    const count: number = items.Count;
    for (let i = 0; i < count; i++) out.push(items.getItem(i));
    return out;
  };
  const diagnostic = (d: any): BridgeDiagnostic => ({
    severity: String(d.Severity ?? 'Error'),
    code: String(d.Code ?? ''),
    category: String(d.Category ?? ''),
    message: String(d.Message ?? ''),
    start: Number(d.HasLocation ? d.Start : 0),
    length: Number(d.HasLocation ? d.Length : 0),
  });

  return {
    loadMs,
    createGlobals(database, tables) {
      const tableSymbols = tables.map((table) => {
        const columns = table.columns.map((column) => {
          const type = symbols.ScalarTypes.GetSymbol(column.type);
          if (!type) {
            throw new Error(`Kusto does not know the type '${column.type}' of ${table.name}.${column.name}`);
          }
          return new symbols.ColumnSymbol(column.name, type, null, null, null, null);
        });
        return new symbols.TableSymbol.$ctor4(table.name, columns);
      });
      const db = new symbols.DatabaseSymbol.ctor(database, tableSymbols);
      return kusto.GlobalState.Default.WithDatabase(db) as KustoGlobals;
    },
    analyze(query, globals, options) {
      const code = kusto.KustoCode.ParseAndAnalyze(query, globals);
      const diagnostics = list(code.GetDiagnostics()).map(diagnostic);
      const analyzerDiagnostics = options.analyzers
        ? list(new kusto.Editor.KustoCodeService.ctor(code).GetAnalyzerDiagnostics(true)).map(diagnostic)
        : [];
      const resultType = code.ResultType;
      const resultColumns = resultType?.Columns
        ? list(resultType.Columns).map((c) => ({ name: String(c.Name), type: String(c.Type?.Name ?? 'unknown') }))
        : null;
      return { diagnostics, analyzerDiagnostics, resultColumns };
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call,
   @typescript-eslint/no-unsafe-return */

#!/usr/bin/env node
/**
 * The `codesign-hunt` command line: dispatches to one module per command. Exit codes: 0 success,
 * 1 the work failed (bad input file, failed cycle, diagnostics), 2 usage or configuration error.
 */
import { ConfigError } from '../config/settings';
import { UsageError, type CliIo } from './io';

export const USAGE = `Usage: codesign-hunt <command> [options]

Commands:
  run [--demo] [--out DIR] [--now ISO]    One hunt cycle for every enabled rule.
                                          --demo: embedded defaults (in-memory Azurite, bundled
                                          sample served as Graph, notifications to ./demo-out)
                                          --serve [--port N]: keep serving the allowlist page
                                          (http://127.0.0.1:7071/allowlist) against that storage
  explain FILE [--allowlist FILE] [--rule ID]
                                          Saved hunting results in (Graph JSON or the portal's CSV
                                          export, detected), one Finding JSON per row out (stdout);
                                          skipped rows and their count on stderr
  replay FILE [--allowlist FILE] [--out DIR] [--json] [--rule ID] [--labels FILE]
                                          The whole pipeline offline over a results file, as the
                                          scheduled cycles would have seen it (in-memory storage):
                                          a summary, or one Incident JSON per line with --json;
                                          --out writes the cards, webhook bodies and HTML preview;
                                          prints the story metric when labels.json is beside FILE
  validate [--rules DIR]                  Every rule through the Kusto parser against the schema
  export-rule --target sentinel|defender [--rule ID] [--out DIR]
                                          A rule for native deployment: Sentinel analytics rule
                                          YAML or Defender custom detection JSON (Graph body)
  runs [--tenant KEY] [--rule ID] [--limit N]
                                          Recent hunt cycles from the run records
  status [--json]                         Per-tenant lag table: last success, lag, last error, quota
  tenants list|add|update|pause|resume|remove|test ...
                                          The tenant registry (see 'codesign-hunt tenants help')
  allowlist list|add|remove|import|export|test ...
                                          Manage the allowlist (see 'codesign-hunt allowlist help')
  deliveries list|replay ...              Failed and parked deliveries
  help                                    This text
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run')).runRunCommand,
  explain: async () => (await import('./explain')).runExplainCommand,
  replay: async () => (await import('./replay')).runReplayCommand,
  validate: async () => (await import('./validate')).runValidateCommand,
  'export-rule': async () => (await import('./exportRule')).runExportRuleCommand,
  runs: async () => (await import('./runs')).runRunsCommand,
  status: async () => (await import('./status')).runStatusCommand,
  tenants: async () => (await import('./tenants')).runTenantsCommand,
  allowlist: async () => (await import('./allowlist')).runAllowlistCommand,
  deliveries: async () => (await import('./deliveries')).runDeliveriesCommand,
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    io.stderr(`codesign-hunt: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`codesign-hunt ${name}: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`codesign-hunt ${name}: ${error.message}\n`);
      return 2;
    }
    io.stderr(`codesign-hunt ${name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  const io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`codesign-hunt: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

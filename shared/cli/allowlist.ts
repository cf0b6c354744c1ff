/**
 * `codesign-hunt allowlist …`: manage the allowlist from a terminal (list, add, remove, import,
 * export) and preview an entry against recorded results before enabling it (test). Writes go
 * through AllowlistStore, so the CLI leaves the same audit trail and announcements as the API.
 * Exit codes follow main.ts: 0 done, 1 the work failed (invalid entries, conflicts), 2 usage or
 * configuration error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ActorError, resolveCliActor, storageCredential } from '../allowlist/actor';
import { createAllowlistRuntime } from '../app/allowlistRuntime';
import { streamLogger } from '../app/logger';
import { ConfigError, loadSettings } from '../config/settings';
import type { AllowlistConditions, AllowlistEntry, AllowlistEntryInput, ConditionField } from '../allowlist/entry';
import { CONDITION_FIELDS, isEntryActive, validateEntryInput } from '../allowlist/entry';
import type { AllowlistFileFormat } from '../allowlist/file';
import { AllowlistFileError, describeErrors, entriesToCsv, entriesToJson, formatFromPath, isRecord, loadAllowlistFile, readAllowlistFile } from '../allowlist/file';
import { compileAllowlist, suppress } from '../allowlist/matcher';
import type { AllowlistStore } from '../allowlist/store';
import { EntryConflictError, EntryNotFoundError, PreconditionFailedError } from '../allowlist/store';
import type { Finding } from '../model/finding';
import type { CliIo } from './io';
import { parseOptions, UsageError } from './io';

export { loadAllowlistFile } from '../allowlist/file';

export const ALLOWLIST_USAGE = `Usage: codesign-hunt allowlist <subcommand> [options]

  list [--json] [--include-deleted]
  add --reason TEXT --owner WHO (--expires ISO | --expires-in-days N | --permanent)
      [--signer-subject P] [--thumbprint P] [--certificate-file P] [--device-name P]
      [--account P] [--parent-process P] [--branch P] [--tool P]
      [--tenant ID] [--id ID] [--disabled] [--json]
                     P: exact (case-insensitive) or a glob with * and ?
  remove ID [--if-match ETAG] [--reason TEXT]       soft delete
  history ID [--json]                               the audit trail of an entry, newest first
  import FILE [--format json|csv] [--owner WHO] [--expires-in-days N] [--dry-run]
                     all entries are validated first; nothing is imported if one is invalid;
                     --owner / --expires-in-days fill records that lack them (templates)
  export [--format json|csv] [--out FILE] [--include-deleted]
                     csv: a Microsoft Sentinel watchlist (SearchKey = entry id)
  test --replay RESULTS.json (--entry FILE | --allowlist FILE) [--tenant ID] [--rule ID] [--json]
                     which findings the entries would suppress, treating disabled ones as enabled

  Writes are recorded as the identity you are signed in as (the storage credential's token:
  upn or appid, and object id). --actor NAME is accepted only against local development storage
  (Azurite), where it defaults to cli:$USER. Storage: the Storage setting (or the identity-based
  Storage__* settings); tables ALLOWLIST_TABLE / ALLOWLIST_AUDIT_TABLE.
`;

const CONDITION_FLAGS: Record<string, ConditionField> = {
  'signer-subject': 'signerSubject',
  thumbprint: 'thumbprint',
  'certificate-file': 'certificateFile',
  'device-name': 'deviceName',
  account: 'account',
  'parent-process': 'parentProcess',
  branch: 'branch',
  tool: 'tool',
};

export async function runAllowlistCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'list':
        return await listCommand(rest, io);
      case 'add':
        return await addCommand(rest, io);
      case 'remove':
        return await removeCommand(rest, io);
      case 'history':
        return await historyCommand(rest, io);
      case 'import':
        return await importCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'test':
        return await testCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
        io.stdout(ALLOWLIST_USAGE);
        return sub ? 0 : 2;
      default:
        throw new UsageError(`unknown allowlist subcommand '${sub}'`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`allowlist: ${error.message}\n`);
      return 2;
    }
    if (error instanceof AllowlistFileError) {
      io.stderr(`allowlist: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      io.stderr(`allowlist: ${error.message}\n\n${ALLOWLIST_USAGE}`);
      return 2;
    }
    if (error instanceof ActorError) {
      io.stderr(`allowlist: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

function openStore(io: CliIo): { store: AllowlistStore; maxLifetimeDays: number; actor: (values: Record<string, string>) => Promise<string> } {
  // Announcements go to stderr so they never mix with machine-readable stdout.
  const warn = (...args: unknown[]): void => io.stderr(`${args.map(String).join(' ')}\n`);
  const settings = loadSettings(io.env);
  const deps = createAllowlistRuntime(settings, streamLogger(io.stderr), { warn });
  return {
    store: deps.store,
    maxLifetimeDays: deps.maxLifetimeDays,
    actor: (values) =>
      resolveCliActor({ storage: settings.storage, actorFlag: values.actor, user: io.env.USER ?? io.env.USERNAME, credential: () => storageCredential(settings.storage) }),
  };
}

function positiveDays(text: string, flag: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1) throw new UsageError(`${flag} needs a whole number of days ≥ 1`);
  return days;
}

function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

function formatOption(values: Record<string, string>, fallbackPath?: string): AllowlistFileFormat {
  const format = values.format ?? (fallbackPath ? formatFromPath(fallbackPath) : 'json');
  if (format !== 'json' && format !== 'csv') throw new UsageError('--format is json or csv');
  return format;
}

function describeConditions(conditions: AllowlistConditions): string {
  return CONDITION_FIELDS.filter((f) => conditions[f] !== undefined)
    .map((f) => `${f}=${JSON.stringify(conditions[f])}`)
    .join(' ');
}

async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseOptions(argv, { flags: ['json', 'include-deleted'] });
  if (positional.length > 0) throw new UsageError('list takes no arguments');
  const { store } = openStore(io);
  const entries = await store.listEntries({ includeDeleted: flags.has('include-deleted') });
  if (flags.has('json')) {
    io.stdout(entriesToJson(entries));
    return 0;
  }
  const now = new Date();
  for (const e of entries) {
    const state = e.deleted ? 'deleted' : !e.enabled ? 'disabled' : isEntryActive(e, now) ? 'active' : 'expired';
    const scope = e.scope === 'global' ? 'global' : `tenant:${e.scope.tenantId}`;
    io.stdout(`${e.id}\t${state}\texpires=${e.expiresAt ?? 'never'}\thits=${e.hitCount}\t${scope}\towner=${e.owner}\t${describeConditions(e.conditions)}\n`);
  }
  io.stderr(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
  return 0;
}

async function addCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, {
    values: [...Object.keys(CONDITION_FLAGS), 'reason', 'owner', 'expires', 'expires-in-days', 'tenant', 'id', 'actor'],
    flags: ['permanent', 'disabled', 'json'],
  });
  if (positional.length > 0) throw new UsageError(`add takes options only (got ${positional.join(' ')})`);
  const expiryChoices = [values.expires !== undefined, values['expires-in-days'] !== undefined, flags.has('permanent')].filter(Boolean).length;
  if (expiryChoices > 1) throw new UsageError('give only one of --expires, --expires-in-days, --permanent');
  const conditions: Record<string, string> = {};
  for (const [flag, field] of Object.entries(CONDITION_FLAGS)) {
    const value = values[flag];
    if (value !== undefined) conditions[field] = value;
  }
  const body: Record<string, unknown> = { conditions, enabled: !flags.has('disabled') };
  if (values.reason !== undefined) body.reason = values.reason;
  if (values.owner !== undefined) body.owner = values.owner;
  if (values.tenant !== undefined) body.scope = { tenantId: values.tenant };
  if (values.id !== undefined) body.id = values.id;
  if (flags.has('permanent')) body.permanent = true;
  else if (values['expires-in-days'] !== undefined) body.expiresAt = inDays(positiveDays(values['expires-in-days'], '--expires-in-days'));
  else if (values.expires !== undefined) body.expiresAt = values.expires;

  const { store, maxLifetimeDays, actor } = openStore(io);
  const validated = validateEntryInput(body, { now: new Date(), maxLifetimeDays, allowId: true });
  if (!validated.ok) {
    for (const e of validated.errors) io.stderr(`allowlist add: ${e.field || '(entry)'}: ${e.message}\n`);
    return 1;
  }
  const who = await actor(values);
  try {
    const entry = await store.createEntry(validated.value, who);
    io.stdout(flags.has('json') ? `${JSON.stringify(entry, null, 2)}\n` : `created ${entry.id} (etag ${entry.etag ?? '-'})\n`);
    return 0;
  } catch (error) {
    if (error instanceof EntryConflictError) {
      io.stderr(`allowlist add: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function removeCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['if-match', 'reason', 'actor'] });
  const [id] = positional;
  if (!id || positional.length > 1) throw new UsageError('remove takes exactly one entry ID');
  const { store, actor } = openStore(io);
  const who = await actor(values);
  // Without --if-match the CLI removes whatever is current: a person at a terminal is the
  // concurrency check. Scripts should pass the ETag they read.
  const etag = values['if-match'] ?? (await store.getEntry(id))?.etag;
  try {
    if (!etag) throw new EntryNotFoundError(id);
    const entry = await store.deleteEntry(id, etag, who, values.reason);
    io.stdout(`removed ${entry.id}\n`);
    return 0;
  } catch (error) {
    if (error instanceof EntryNotFoundError || error instanceof PreconditionFailedError) {
      io.stderr(`allowlist remove: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function historyCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseOptions(argv, { flags: ['json'] });
  const [id] = positional;
  if (!id || positional.length > 1) throw new UsageError('history takes exactly one entry ID');
  const { store } = openStore(io);
  const records = await store.history(id);
  if (records.length === 0) {
    io.stderr(`allowlist history: no audit records for ${id}\n`);
    return 1;
  }
  if (flags.has('json')) {
    io.stdout(`${JSON.stringify(records, null, 2)}\n`);
    return 0;
  }
  for (const record of records) {
    io.stdout(`${record.at}\t${record.action}\t${record.actor}\t${record.status}\t${record.reason}\n`);
  }
  return 0;
}

async function importCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['format', 'owner', 'expires-in-days', 'actor'], flags: ['dry-run'] });
  const [file] = positional;
  if (!file || positional.length > 1) throw new UsageError('import takes exactly one FILE');
  const format = formatOption(values, file);
  const fillExpiry = values['expires-in-days'] !== undefined ? inDays(positiveDays(values['expires-in-days'], '--expires-in-days')) : undefined;
  const records = await readAllowlistFile(file, format);
  const { store, maxLifetimeDays, actor: actorOfCaller } = openStore(io);
  const now = new Date();
  const problems: string[] = [];
  const inputs: AllowlistEntryInput[] = [];
  for (const { position, input } of records) {
    let filled: unknown = input;
    if (isRecord(input)) {
      const copy: Record<string, unknown> = { ...input };
      if (!('owner' in copy) && values.owner !== undefined) copy.owner = values.owner;
      if (!('expiresAt' in copy) && copy.permanent !== true && fillExpiry !== undefined) copy.expiresAt = fillExpiry;
      filled = copy;
    }
    const result = validateEntryInput(filled, { now, maxLifetimeDays, allowId: true });
    if (result.ok) inputs.push(result.value);
    else problems.push(...describeErrors(position, result.errors));
  }
  if (problems.length > 0) {
    for (const p of problems) io.stderr(`allowlist import: ${p}\n`);
    io.stderr(`allowlist import: nothing imported (${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file})\n`);
    return 1;
  }
  if (flags.has('dry-run')) {
    io.stdout(`${inputs.length} entr${inputs.length === 1 ? 'y' : 'ies'} valid; dry run, nothing imported\n`);
    return 0;
  }
  const actor = await actorOfCaller(values);
  let created = 0;
  let skipped = 0;
  for (const input of inputs) {
    try {
      const entry = await store.createEntry(input, actor, `imported from ${file}`);
      io.stdout(`created ${entry.id}\n`);
      created++;
    } catch (error) {
      if (!(error instanceof EntryConflictError)) throw error;
      io.stdout(`skipped ${error.entryId} (exists)\n`);
      skipped++;
    }
  }
  io.stderr(`allowlist import: ${created} created, ${skipped} skipped\n`);
  return 0;
}

async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['format', 'out'], flags: ['include-deleted'] });
  if (positional.length > 0) throw new UsageError('export takes no arguments (use --out FILE)');
  const format = formatOption(values, values.out);
  const { store } = openStore(io);
  const entries = await store.listEntries({ includeDeleted: flags.has('include-deleted') });
  const text = format === 'csv' ? entriesToCsv(entries) : entriesToJson(entries);
  if (values.out) {
    await writeFile(values.out, text, 'utf8');
    io.stderr(`exported ${entries.length} entries to ${values.out}\n`);
  } else {
    io.stdout(text);
  }
  return 0;
}

export interface AllowlistTestReport {
  total: number;
  rejectedRows: number;
  suppressed: { findingId: string; timestamp: string; device: string; subject: string | null; entryId: string }[];
  perEntry: { entryId: string; findings: number; note: string | null }[];
}

/**
 * The core of `allowlist test`: which of `findings` the entries would suppress if enabled.
 * Disabled entries are tested as enabled (that is the point: preview before enabling); expired
 * and deleted ones still never match, and the report says so.
 */
export function allowlistTestReport(findings: readonly Finding[], entries: readonly AllowlistEntry[], options: { now: Date; tenantId: string | null; rejectedRows?: number }): AllowlistTestReport {
  const asEnabled = entries.map((e) => ({ ...e, enabled: true }));
  const result = suppress(findings, compileAllowlist(asEnabled, options.now), options.tenantId, options.now);
  return {
    total: findings.length,
    rejectedRows: options.rejectedRows ?? 0,
    suppressed: result.findings
      .filter((f) => f.suppressedBy !== null)
      .map((f) => ({ findingId: f.id, timestamp: f.timestamp, device: f.device.name, subject: f.certificate.subject, entryId: f.suppressedBy as string })),
    perEntry: entries.map((e) => ({
      entryId: e.id,
      findings: result.hits.get(e.id)?.count ?? 0,
      note: e.deleted ? 'deleted: never matches' : !isEntryActive({ ...e, enabled: true }, options.now) ? 'expired: never matches' : !e.enabled ? 'disabled: tested as if enabled' : null,
    })),
  };
}

async function testCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['replay', 'entry', 'allowlist', 'tenant', 'rule', 'now'], flags: ['json'] });
  if (positional.length > 0) throw new UsageError(`test takes options only (got ${positional.join(' ')})`);
  if (!values.replay) throw new UsageError('test needs --replay RESULTS.json');
  const entriesFile = values.entry ?? values.allowlist;
  if (!entriesFile || (values.entry && values.allowlist)) throw new UsageError('test needs exactly one of --entry FILE or --allowlist FILE');
  const now = values.now ? new Date(values.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new UsageError('--now needs an ISO 8601 time');

  const entries = await loadAllowlistFile(entriesFile, { now });
  let json: unknown;
  try {
    json = JSON.parse(await readFile(values.replay, 'utf8'));
  } catch (error) {
    io.stderr(`allowlist test: cannot read ${values.replay} as JSON: ${(error as Error).message}\n`);
    return 1;
  }
  // Loaded lazily: only this subcommand needs the Graph answer parser and the normaliser.
  const { normaliseHuntingResults } = await import('../hunting/graphClient');
  const { normaliseResults } = await import('../normalise/normalise');
  let outcome: ReturnType<typeof normaliseResults>;
  try {
    outcome = normaliseResults(normaliseHuntingResults(json), { ruleId: values.rule ?? 't1587-002' });
  } catch (error) {
    io.stderr(`allowlist test: ${values.replay} is not a Graph huntingQueryResults answer: ${(error as Error).message}\n`);
    return 1;
  }
  const report = allowlistTestReport(outcome.findings, entries, { now, tenantId: values.tenant ?? null, rejectedRows: outcome.rejected.length });
  if (flags.has('json')) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  for (const s of report.suppressed) {
    io.stdout(`SUPPRESSED\t${s.timestamp}\t${s.device}\t${s.subject ?? '-'}\tfinding=${s.findingId}\tby=${s.entryId}\n`);
  }
  for (const p of report.perEntry) io.stdout(`entry ${p.entryId}: ${p.findings} finding(s)${p.note ? ` (${p.note})` : ''}\n`);
  io.stdout(`${report.suppressed.length} of ${report.total} findings would be suppressed${report.rejectedRows ? `; ${report.rejectedRows} row(s) could not be normalised` : ''}\n`);
  return 0;
}

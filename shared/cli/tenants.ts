/**
 * `codesign-hunt tenants …`: the tenant registry from a terminal. Every change is ETag-guarded
 * and audited in the tenant's partition (who, when, before, after, why). `tenants test KEY` says
 * whether the tenant can be hunted, and if not exactly what is missing. Exit codes follow
 * main.ts: 0 done, 1 the work failed (invalid tenant, conflict, a failing test), 2 usage or
 * configuration error.
 */
import { createTenantServices, type TenantServices } from '../app/tenants';
import { loadSettings, type Settings } from '../config/settings';
import { GRAPH_CLOUDS, type GraphCloudName } from '../hunting/clouds';
import { parseChannels } from '../notify/channels';
import { loadRules } from '../rules/loadRules';
import { adminConsentUrl } from '../tenants/credentials';
import type { ProbeResult } from '../tenants/probe';
import { TenantConflictError, TenantExistsError, TenantNotFoundError } from '../tenants/store';
import { checkTenantSettings } from '../tenants/registry';
import { applyTenantPatch, TenantValidationError, validateTenantInput, type Tenant, type TenantCredentialRef, type TenantFields, type TenantPatch } from '../tenants/tenant';
import { parseOptions, UsageError, type CliIo } from './io';

export const TENANTS_USAGE = `Usage: codesign-hunt tenants <subcommand> [options]

  list [--json]
  add KEY --entra-tenant ID [--name TEXT] [--cloud global|usgov|dod|china | --graph-base-url URL]
      [--rules ID,ID] [--channels ID,ID] [--secret-setting NAME] [--set SETTING=VALUE ...]
      [--reason TEXT] [--json]
                     KEY: the logical name (checkpoints, incidents, allowlist scope);
                     ID: the customer's Entra tenant id (GUID) or verified domain;
                     --channels: NOTIFY_CHANNELS ids that receive this tenant's incidents and alerts;
                     --secret-setting: app setting with a client secret for this tenant
                     (default: the provider app's certificate, PROVIDER_APP_CERTIFICATE);
                     --set: override a setting for this tenant (HUNT_MAX_CALLS_PER_MINUTE=30, ...)
  update KEY [the options of add] [--certificate] [--all-rules] [--unset SETTING ...] [--if-match ETAG]
  pause KEY --reason TEXT
  resume KEY
  remove KEY [--reason TEXT] [--if-match ETAG]
                     the tenant's checkpoints, incidents and runs stay
  history KEY [--json]
  test KEY [--json]  token, ThreatHunting.Read.All and a one-row query; says what is missing
  consent-url KEY [--redirect-uri URL]
                     the admin consent URL for the customer's Global Administrator

  Writes record --actor NAME (default: cli:$USER). Storage: the Storage setting (or the
  identity-based Storage__* settings); table TENANTS_TABLE.
`;

const EDIT_VALUES = ['entra-tenant', 'name', 'cloud', 'graph-base-url', 'rules', 'channels', 'secret-setting', 'reason', 'actor', 'if-match'];

export async function runTenantsCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'list':
        return await listCommand(rest, io);
      case 'add':
        return await addCommand(rest, io);
      case 'update':
        return await updateCommand(rest, io);
      case 'pause':
        return await pauseCommand(rest, io);
      case 'resume':
        return await resumeCommand(rest, io);
      case 'remove':
        return await removeCommand(rest, io);
      case 'history':
        return await historyCommand(rest, io);
      case 'test':
        return await testCommand(rest, io);
      case 'consent-url':
        return await consentCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
        io.stdout(TENANTS_USAGE);
        return sub ? 0 : 2;
      default:
        throw new UsageError(`unknown tenants subcommand '${sub}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`tenants: ${error.message}\n\n${TENANTS_USAGE}`);
      return 2;
    }
    if (error instanceof TenantValidationError) {
      io.stderr(`tenants: ${error.errors.map((e) => `${e.field}: ${e.message}`).join('\n  ')}\n`);
      return 1;
    }
    if (error instanceof TenantNotFoundError || error instanceof TenantExistsError || error instanceof TenantConflictError) {
      io.stderr(`tenants: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

interface Opened {
  settings: Settings;
  services: TenantServices;
}

async function open(io: CliIo): Promise<Opened> {
  const settings = loadSettings(io.env);
  const services = createTenantServices(settings, io.env);
  await services.ensure();
  return { settings, services };
}

function actorOf(values: Record<string, string>, io: CliIo): string {
  return values.actor ?? `cli:${io.env.USER ?? io.env.USERNAME ?? 'unknown'}`;
}

/** `--set A=1 --set B=2` and `--unset A`, which parseOptions (one value per name) does not keep. */
function takeRepeated(argv: string[], name: string): { rest: string[]; values: string[] } {
  const rest: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === `--${name}`) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values.push(value);
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
    } else {
      rest.push(arg);
    }
  }
  return { rest, values };
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function graphBaseUrlOf(values: Record<string, string>): string | undefined {
  if (values.cloud && values['graph-base-url']) throw new UsageError('give --cloud or --graph-base-url, not both');
  if (values.cloud) {
    const cloud = GRAPH_CLOUDS[values.cloud as GraphCloudName] as (typeof GRAPH_CLOUDS)[GraphCloudName] | undefined;
    if (!cloud) throw new UsageError(`--cloud is one of ${Object.keys(GRAPH_CLOUDS).join(', ')}`);
    return cloud.graphBaseUrl;
  }
  return values['graph-base-url'];
}

function overridesOf(sets: string[], unsets: string[]): Record<string, string> | undefined {
  if (sets.length === 0 && unsets.length === 0) return undefined;
  const overrides: Record<string, string> = {};
  for (const pair of sets) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--set takes SETTING=VALUE (got ${JSON.stringify(pair.slice(0, 60))})`);
    overrides[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  for (const name of unsets) overrides[name.trim()] = '';
  return overrides;
}

/** Channel ids must name NOTIFY_CHANNELS entries when the setting is at hand (it is a secret; ids only). */
function checkChannels(settings: Settings, channelIds: readonly string[], io: CliIo): void {
  if (channelIds.length === 0) {
    io.stderr('tenants: note: no --channels: this tenant\'s incidents and health alerts are stored but announced to no one\n');
    return;
  }
  if (!settings.delivery.channelsJson) {
    io.stderr('tenants: note: NOTIFY_CHANNELS is not set here, so the channel ids were not checked\n');
    return;
  }
  const known = parseChannels(settings.delivery.channelsJson, { allowLoopbackForTests: true, allowFolder: true }).map((c) => c.id);
  const missing = channelIds.filter((id) => !known.includes(id));
  if (missing.length > 0) throw new TenantValidationError([{ field: 'channelIds', message: `not in NOTIFY_CHANNELS: ${missing.join(', ')} (known: ${known.join(', ')})` }]);
}

/** An override out of range is refused before it is written, with the setting's own message. */
function refuseBadSettings(io: CliIo, fields: TenantFields): void {
  const known = loadRules().map((rule) => rule.id);
  const unknownRules = (fields.ruleIds ?? []).filter((id) => !known.includes(id));
  const problems = [
    ...checkTenantSettings(io.env, fields),
    ...(unknownRules.length > 0 ? [{ field: 'ruleIds', message: `not in rules/: ${unknownRules.join(', ')} (known: ${known.join(', ')})` }] : []),
  ];
  if (problems.length > 0) throw new TenantValidationError(problems);
}

function describe(tenant: Tenant): string {
  const credential = tenant.credential.kind === 'secret' ? `secret:${tenant.credential.setting}` : 'certificate';
  const overrides = Object.entries(tenant.overrides).map(([k, v]) => `${k}=${v}`);
  return [
    tenant.key.padEnd(20),
    tenant.entraTenantId.padEnd(38),
    tenant.graphBaseUrl.replace(/^https?:\/\//, '').padEnd(22),
    `rules=${tenant.ruleIds?.join(',') ?? '(HUNT_RULES)'}`,
    `channels=${tenant.channelIds.join(',') || '(none)'}`,
    credential,
    overrides.length > 0 ? `overrides: ${overrides.join(' ')}` : '',
    tenant.paused ? `PAUSED by ${tenant.paused.by} at ${tenant.paused.at}: ${tenant.paused.reason}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

function printTenant(tenant: Tenant, io: CliIo, json: boolean): void {
  io.stdout(json ? `${JSON.stringify(tenant)}\n` : `${describe(tenant)}\n`);
}

async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseOptions(argv, { flags: ['json'] });
  if (positional.length > 0) throw new UsageError('list takes no arguments');
  const { settings, services } = await open(io);
  const { tenants, unreadable } = await services.store.listWithProblems();
  if (flags.has('json')) {
    io.stdout(`${JSON.stringify({ mode: tenants.length + unreadable.length === 0 ? 'single' : 'registry', tenants, unreadable })}\n`);
    return unreadable.length > 0 ? 1 : 0;
  }
  if (tenants.length === 0 && unreadable.length === 0) {
    io.stdout(`no tenants in the registry: the settings' one tenant '${settings.tenantId}' is hunted (single-tenant mode)\n`);
    return 0;
  }
  for (const tenant of tenants) printTenant(tenant, io, false);
  for (const row of unreadable) io.stdout(`${row.key.padEnd(20)}  UNREADABLE: ${row.problem}\n`);
  return unreadable.length > 0 ? 1 : 0;
}

function credentialOf(values: Record<string, string>, flags: Set<string>): TenantCredentialRef | undefined {
  if (values['secret-setting'] && flags.has('certificate')) throw new UsageError('give --secret-setting or --certificate, not both');
  if (values['secret-setting']) return { kind: 'secret', setting: values['secret-setting'] };
  if (flags.has('certificate')) return { kind: 'certificate' };
  return undefined;
}

async function addCommand(argv: string[], io: CliIo): Promise<number> {
  const sets = takeRepeated(argv, 'set');
  const { positional, values, flags } = parseOptions(sets.rest, { values: EDIT_VALUES, flags: ['json'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('add takes one KEY');
  if (!values['entra-tenant']) throw new UsageError('add needs --entra-tenant (the customer\'s Entra tenant id or verified domain)');
  const { settings, services } = await open(io);
  const channelIds = values.channels ? list(values.channels) : [];
  checkChannels(settings, channelIds, io);
  const input = {
    key,
    entraTenantId: values['entra-tenant'],
    displayName: values.name,
    graphBaseUrl: graphBaseUrlOf(values),
    ruleIds: values.rules ? list(values.rules) : null,
    channelIds,
    credential: credentialOf(values, flags),
    overrides: overridesOf(sets.values, []),
  };
  const checked = validateTenantInput(input);
  if (!checked.ok) throw new TenantValidationError(checked.errors);
  refuseBadSettings(io, checked.value);
  const tenant = await services.store.add(input, { actor: actorOf(values, io), now: new Date(), reason: values.reason });
  printTenant(tenant, io, flags.has('json'));
  if (!flags.has('json') && settings.tenants.appClientId) {
    io.stderr(
      `tenants: next: the customer's Global Administrator opens ${adminConsentUrl({ graphBaseUrl: tenant.graphBaseUrl, entraTenantId: tenant.entraTenantId, clientId: settings.tenants.appClientId })}\n` +
        `         then: codesign-hunt tenants test ${tenant.key}\n`,
    );
  }
  return 0;
}

async function updateCommand(argv: string[], io: CliIo): Promise<number> {
  const sets = takeRepeated(argv, 'set');
  const unsets = takeRepeated(sets.rest, 'unset');
  const { positional, values, flags } = parseOptions(unsets.rest, { values: EDIT_VALUES, flags: ['json', 'certificate', 'all-rules'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('update takes one KEY');
  if (values.rules && flags.has('all-rules')) throw new UsageError('give --rules or --all-rules, not both');
  const { settings, services } = await open(io);
  const patch: TenantPatch = {
    ...(values['entra-tenant'] ? { entraTenantId: values['entra-tenant'] } : {}),
    ...(values.name ? { displayName: values.name } : {}),
    ...(graphBaseUrlOf(values) ? { graphBaseUrl: graphBaseUrlOf(values) } : {}),
    ...(values.rules ? { ruleIds: list(values.rules) } : flags.has('all-rules') ? { ruleIds: null } : {}),
    ...(values.channels !== undefined ? { channelIds: list(values.channels) } : {}),
  };
  const credential = credentialOf(values, flags);
  if (credential) patch.credential = credential;
  const overrides = overridesOf(sets.values, unsets.values);
  if (overrides) patch.overrides = overrides;
  if (Object.keys(patch).length === 0) throw new UsageError('update needs at least one change');
  if (patch.channelIds) checkChannels(settings, patch.channelIds, io);
  const patched = applyTenantPatch(await services.store.require(key), patch);
  if (!patched.ok) throw new TenantValidationError(patched.errors);
  refuseBadSettings(io, patched.value);
  const tenant = await services.store.update(key, patch, { actor: actorOf(values, io), now: new Date(), reason: values.reason, ...(values['if-match'] ? { ifMatch: values['if-match'] } : {}) });
  printTenant(tenant, io, flags.has('json'));
  return 0;
}

async function pauseCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['reason', 'actor'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('pause takes one KEY');
  if (!values.reason) throw new UsageError('pause needs --reason (why hunting stops for this tenant)');
  const { services } = await open(io);
  const tenant = await services.store.pause(key, { actor: actorOf(values, io), now: new Date(), reason: values.reason });
  io.stdout(`${tenant.key}: paused (${values.reason}); no hunt jobs are enqueued for it until 'tenants resume ${tenant.key}'\n`);
  return 0;
}

async function resumeCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['reason', 'actor'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('resume takes one KEY');
  const { services } = await open(io);
  const tenant = await services.store.resume(key, { actor: actorOf(values, io), now: new Date(), reason: values.reason });
  io.stdout(`${tenant.key}: resumed; the next timer tick enqueues its hunt, continuing from its checkpoints\n`);
  return 0;
}

async function removeCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['reason', 'actor', 'if-match'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('remove takes one KEY');
  const { services } = await open(io);
  await services.store.remove(key, { actor: actorOf(values, io), now: new Date(), reason: values.reason, ...(values['if-match'] ? { ifMatch: values['if-match'] } : {}) });
  io.stdout(`${key}: removed from the registry; its checkpoints, incidents and runs are kept\n`);
  return 0;
}

async function historyCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseOptions(argv, { flags: ['json'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('history takes one KEY');
  const { services } = await open(io);
  for (const record of await services.store.history(key)) {
    io.stdout(flags.has('json') ? `${JSON.stringify(record)}\n` : `${record.at}\t${record.action}\t${record.actor}\t${record.reason ?? ''}\n`);
  }
  return 0;
}

function printProbe(result: ProbeResult, io: CliIo): void {
  for (const step of result.steps) io.stdout(`  ${step.step.padEnd(14)} ${step.ok ? 'ok    ' : 'FAILED'}  ${step.detail}\n`);
  if (result.ok) {
    io.stdout(`${result.tenant}: ready to hunt\n`);
    return;
  }
  io.stdout(`${result.tenant}: ${result.problem}: ${result.advice}\n`);
  if (result.consentUrl) io.stdout(`  admin consent URL (for the customer's Global Administrator): ${result.consentUrl}\n`);
}

async function testCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseOptions(argv, { flags: ['json'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('test takes one KEY');
  const { services } = await open(io);
  const result = await services.probe(await services.store.require(key));
  if (flags.has('json')) io.stdout(`${JSON.stringify(result)}\n`);
  else printProbe(result, io);
  return result.ok ? 0 : 1;
}

async function consentCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(argv, { values: ['redirect-uri'] });
  const [key, ...extra] = positional;
  if (!key || extra.length > 0) throw new UsageError('consent-url takes one KEY');
  const { settings, services } = await open(io);
  if (!settings.tenants.appClientId) throw new UsageError('PROVIDER_APP_CLIENT_ID (the provider app registration) is not set');
  const tenant = await services.store.require(key);
  io.stdout(`${adminConsentUrl({ graphBaseUrl: tenant.graphBaseUrl, entraTenantId: tenant.entraTenantId, clientId: settings.tenants.appClientId, ...(values['redirect-uri'] ? { redirectUri: values['redirect-uri'] } : {}) })}\n`);
  return 0;
}

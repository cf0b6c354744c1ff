/**
 * `codesign-hunt deliveries ...`: the operator's view of notification delivery.
 *   deliveries list [--state <state>] [--channel <id>] [--json]
 *   deliveries replay <notificationId> | --all-parked [--channel <id>]
 *   deliveries poison list [--json]
 *   deliveries poison replay [<messageId> | --all]
 *   deliveries drain [--max <n>]         deliver queued messages in-process (CLI, demo)
 * Replay resets the ledger row to `pending` and enqueues the stored message again; a delivered
 * notification is never replayed (that would post it twice). Output names channels by id only:
 * urls and secrets are never printed, and storage error texts are redacted.
 */
import { ChannelConfigError, channelSecrets, parseChannels, type Channel } from '../notify/channels';
import { deliverMessage, redactText, type DeliveryLog, type DeliveryOutcome } from '../notify/deliver';
import { DELIVERY_STATES, type DeliveryLedger, type DeliveryRecord, type DeliveryState } from '../notify/ledger';
import type { NotificationQueue } from '../notify/queue';
import { ConfigError } from '../config/settings';
import { createDeliveryDeps, createStorageClients, readDeliverySettings } from '../notify/settings';
import { UsageError, parseOptions, type CliIo } from './io';

/** Injected storage for tests; by default both come from the settings in `io.env`. */
export interface DeliveriesCommandOverrides {
  ledger?: DeliveryLedger;
  queue?: NotificationQueue;
}

const USAGE = `usage:
  deliveries list [--state ${DELIVERY_STATES.join('|')}] [--channel <id>] [--json]
  deliveries replay <notificationId> | --all-parked [--channel <id>]
  deliveries poison list [--json]
  deliveries poison replay [<messageId> | --all]
  deliveries drain [--max <n>]`;

/** States a replay may reset: the message is not delivered and nothing else will retry it. */
const REPLAYABLE: readonly DeliveryState[] = ['failed', 'parked', 'disabled-channel'];

function usage(message: string): UsageError {
  return new UsageError(`${message}\n${USAGE}`);
}

function formatRecord(r: DeliveryRecord): string {
  return [r.state.padEnd(16), r.channelId.padEnd(20), r.notificationId, r.kind.padEnd(16), `attempt=${r.attempt}`, r.updatedAt, r.reason ?? ''].join('  ').trimEnd();
}

function settingsEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  // The CLI also accepts the Functions default storage setting.
  return { ...env, Storage: env.Storage ?? env.AzureWebJobsStorage };
}

function safeErrorText(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof Error ? error.message : String(error);
  return redactText(text, secrets)
    .replace(/([?&](?:sig|code|se|sp|sv)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/(AccountKey=)[^;\s]+/gi, '$1[redacted]')
    .slice(0, 500);
}

export async function runDeliveriesCommand(argv: string[], io: CliIo, overrides: DeliveriesCommandOverrides = {}): Promise<number> {
  const args = argv[0] === 'deliveries' ? argv.slice(1) : [...argv];
  const out = (line: string) => io.stdout(`${line}\n`);
  const err = (line: string) => io.stderr(`${line}\n`);
  let secrets: string[] = [];
  try {
    const env = settingsEnv(io.env);
    const settings = readDeliverySettings(env);
    let channels: Channel[] = [];
    try {
      channels = parseChannels(settings.channelsJson, { allowLoopbackForTests: settings.allowLoopbackForTests, allowFolder: settings.allowFolderChannels });
    } catch (error) {
      // Listing and replay do not need channels; drain does and re-parses (and reports) below.
      if (args[0] === 'drain') throw error;
    }
    secrets = [...channelSecrets(channels), ...(env.Storage ? [env.Storage] : [])];
    const storage = () => {
      if (overrides.ledger && overrides.queue) return { ledger: overrides.ledger, queue: overrides.queue };
      const clients = createStorageClients(settings);
      return { ledger: overrides.ledger ?? clients.ledger, queue: overrides.queue ?? clients.queue };
    };

    const command = args[0];
    if (command === 'list') {
      const parsed = parseOptions(args.slice(1), { values: ['state', 'channel'], flags: ['json'] });
      const state = parsed.values.state;
      if (state !== undefined && !DELIVERY_STATES.includes(state as DeliveryState)) throw usage(`unknown state "${state}"`);
      const records = await storage().ledger.list({ state: state as DeliveryState | undefined, channelId: parsed.values.channel });
      if (parsed.flags.has('json')) {
        out(JSON.stringify(records.map(({ message: _m, etag: _e, ...rest }) => rest), null, 2));
      } else {
        for (const r of records) out(formatRecord(r));
        err(`${records.length} deliveries`);
      }
      return 0;
    }

    if (command === 'replay') {
      const parsed = parseOptions(args.slice(1), { values: ['channel'], flags: ['all-parked'] });
      const id = parsed.positional[0];
      if (!id === !parsed.flags.has('all-parked') || parsed.positional.length > 1) throw usage('replay takes one notificationId or --all-parked');
      const { ledger, queue } = storage();
      let targets: DeliveryRecord[];
      if (!id) {
        targets = await ledger.list({ state: 'parked', channelId: parsed.values.channel });
      } else {
        targets = await ledger.list({ notificationId: id, channelId: parsed.values.channel });
        if (targets.length === 0) {
          err(`no delivery with notificationId ${id}`);
          return 1;
        }
      }
      let replayed = 0;
      let refused = 0;
      const now = new Date();
      for (const record of targets) {
        if (!REPLAYABLE.includes(record.state)) {
          err(`${record.channelId}/${record.notificationId}: ${record.state}, not replayed${record.state === 'delivered' ? ' (it would be posted twice)' : ''}`);
          refused++;
          continue;
        }
        if (!record.message) {
          err(`${record.channelId}/${record.notificationId}: the ledger has no stored message; replay it from the poison queue`);
          refused++;
          continue;
        }
        if (!(await ledger.resetForReplay(record, now))) {
          err(`${record.channelId}/${record.notificationId}: changed meanwhile, not replayed`);
          refused++;
          continue;
        }
        await queue.enqueue([{ ...record.message, attempt: 1, replay: true }]);
        out(`replayed ${record.channelId}/${record.notificationId} (was ${record.state})`);
        replayed++;
      }
      err(`${replayed} replayed, ${refused} not replayed`);
      return refused > 0 && replayed === 0 && targets.length > 0 ? 1 : 0;
    }

    if (command === 'poison') {
      const sub = args[1];
      const parsed = parseOptions(args.slice(2), { flags: ['json', 'all'] });
      const { queue } = storage();
      if (sub === 'list') {
        const entries = await queue.listPoison();
        if (parsed.flags.has('json')) {
          out(JSON.stringify(entries.map((e) => ({ ...e, message: e.message ? { ...e.message, payload: undefined } : null })), null, 2));
        } else {
          for (const e of entries) {
            const m = e.message;
            out(
              m
                ? [e.messageId, m.channelId.padEnd(20), m.notificationId, m.kind.padEnd(16), `attempt=${m.attempt}`, m.lastError?.code ?? 'host-poisoned'].join('  ')
                : `${e.messageId}  (undecodable: ${e.problem ?? 'unknown'})`,
            );
          }
          err(`${entries.length} poison messages shown (a peek shows at most 32)`);
        }
        return 0;
      }
      if (sub === 'replay') {
        const messageId = parsed.positional[0];
        if (!messageId === !parsed.flags.has('all')) throw usage('poison replay takes one messageId or --all');
        const moved = await queue.replayPoison(messageId ? { messageId } : {});
        out(`${moved} poison messages moved back to the queue`);
        return messageId && moved === 0 ? 1 : 0;
      }
      throw usage('poison needs list or replay');
    }

    if (command === 'drain') {
      const parsed = parseOptions(args.slice(1), { values: ['max'] });
      const max = parsed.values.max;
      const maxMessages = max === undefined ? undefined : Number(max);
      if (maxMessages !== undefined && (!Number.isInteger(maxMessages) || maxMessages < 1)) throw usage('--max must be a positive integer');
      const log: DeliveryLog = {
        info: () => undefined,
        warn: (m, f) => err(`warn: ${m} ${f ? JSON.stringify(f) : ''}`.trimEnd()),
        error: (m, f) => err(`error: ${m} ${f ? JSON.stringify(f) : ''}`.trimEnd()),
      };
      const deps = createDeliveryDeps(settings, log);
      const queue = overrides.queue ?? deps.queue;
      const ledger = overrides.ledger ?? deps.ledger;
      if (!overrides.queue || !overrides.ledger) await deps.ensureStorage();
      const counts = new Map<DeliveryOutcome['status'], number>();
      const summary = await queue.drain(
        async (message) => {
          const outcome = await deliverMessage(message, { ...deps, queue, ledger });
          counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
        },
        {
          maxMessages,
          onError: (error, meta) => err(`error: ${meta.notificationId} not handled (left queued): ${safeErrorText(error, secrets)}`),
        },
      );
      out(`drained: ${summary.handled} handled, ${summary.failed} failed, ${summary.poisoned} poisoned`);
      for (const [status, n] of counts) out(`  ${status}: ${n}`);
      return summary.failed > 0 ? 1 : 0;
    }

    if (command === 'help' || command === '--help') {
      out(USAGE);
      return 0;
    }
    throw usage(command === undefined ? 'a subcommand is needed' : `unknown subcommand "${command}"`);
  } catch (error) {
    // Usage errors go to main (usage text, exit 2). Everything else is printed here, redacted:
    // storage and settings errors can quote connection strings or urls.
    if (error instanceof UsageError) throw error;
    const configProblem = error instanceof ChannelConfigError || error instanceof ConfigError;
    err(`deliveries: ${safeErrorText(error, secrets)}`);
    return configProblem ? 2 : 1;
  }
}

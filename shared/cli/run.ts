/**
 * `run [--demo [--serve] [--port N]] [--out DIR] [--now ISO] [--json]`: one hunt cycle of every
 * enabled rule, then the queued notifications delivered in-process (the same deliverer as the
 * queue-triggered function). With --demo, the embedded default (shared/demo) supplies storage, the
 * Graph source, the clock and a folder channel, and a readable summary is printed and written to
 * the output folder. The cards' "Allowlist this signer" links point at the allowlist page on
 * http://127.0.0.1:<port> (7071 by default); with --serve the command keeps serving that page and
 * its API against the demo's storage, signed in as a development principal, until interrupted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock';
import { loadSettings } from '../config/settings';
import { createDeliveryRuntime, drainNotifications } from '../app/deliveryRuntime';
import { createHuntRuntime } from '../app/huntRuntime';
import { streamLogger } from '../app/logger';
import { DEMO_NOW, startDemoEnvironment, type DemoEnvironment } from '../demo/demo';
import { seedDemoAllowlist } from '../demo/seedAllowlist';
import { createAllowlistRuntime } from '../app/allowlistRuntime';
import { startLocalPageServer, type LocalPageServer } from '../allowlist/page/localServer';
import { writeCardsPreview } from '../notify/preview';
import { IncidentCollector } from '../incidents/collect';
import type { Finding } from '../model/finding';
import type { Announcement } from '../notify/message';
import type { RunRecord } from '../hunt/runRecord';
import { parseOptions, UsageError, type CliIo } from './io';
import { formatDemoSummary } from './summary';
import { clearFolderDeliveries } from '../notify/localFolderSender';

function fixedClock(at: Date): Clock {
  let now = at.getTime();
  // Time moves only as the demo "waits", so repeated runs plan identical windows.
  return { now: () => new Date(now), sleep: async (ms) => void (now += ms) };
}

export async function runRunCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['out', 'now', 'storage', 'port'], flags: ['demo', 'json', 'no-deliver', 'serve'] });
  if (positional.length > 0) throw new UsageError(`run takes no arguments (got ${positional.join(' ')})`);
  const demo = flags.has('demo');
  const serve = flags.has('serve');
  if ((serve || values.port !== undefined) && !demo) throw new UsageError('--serve and --port go with --demo');
  const port = values.port === undefined ? DEMO_PAGE_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port needs a port number (0 = any free port)');
  let now: Date | null = null;
  if (values.now) {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now is not a date: ${values.now}`);
  }
  let environment: DemoEnvironment | null = null;
  let page: LocalPageServer | null = null;
  let env = io.env;
  if (demo) {
    environment = await startDemoEnvironment({ outDir: values.out ?? 'demo-out', storage: values.storage ?? io.env.DEMO_STORAGE });
    // The folder and its preview show this run's notifications, never the last run's as well.
    await clearFolderDeliveries(join(environment.outDir, 'notifications'));
    env = { ...io.env, ...environment.env, ALLOWLIST_BASE_URL: `http://127.0.0.1:${port}` };
  }
  try {
    const clock = demo ? fixedClock(now ?? DEMO_NOW) : now ? fixedClock(now) : systemClock;
    if (demo && serve) {
      // Started before the cycle, so the cards link to the port it really got (--port 0).
      const pageSettings = loadSettings({ ...env, ALLOWLIST_DEV_PRINCIPAL: DEMO_PRINCIPAL });
      const deps = createAllowlistRuntime(pageSettings, streamLogger(io.stderr, { quiet: true }), { clock, warn: () => undefined });
      page = await startLocalPageServer(deps, { port, log: (line) => io.stderr(`${line}\n`) });
      env = { ...env, ALLOWLIST_BASE_URL: page.origin };
    }
    const settings = loadSettings(env);
    const log = streamLogger(io.stderr, { json: flags.has('json'), quiet: demo });
    const delivery = createDeliveryRuntime(settings, log, { clock });
    const findings: Finding[] = [];
    const announcements: Announcement[] = [];
    const stories = new IncidentCollector();
    const runtime = createHuntRuntime({
      settings,
      log,
      clock,
      channels: delivery.channels,
      queue: delivery.queue,
      onFindings: (batch) => findings.push(...batch),
      onAnnouncements: (batch) => announcements.push(...batch),
      onIncidentsBuilt: (batch) => stories.add(batch),
    });
    await delivery.ensureStorage();
    await runtime.ensureStorage();
    const seeded = demo ? await seedDemoAllowlist(runtime.allowlist, clock.now()) : [];
    const records: RunRecord[] = await runtime.runAll();
    const drained = flags.has('no-deliver') ? null : await drainNotifications(delivery);

    if (demo && environment) {
      const out = environment.outDir;
      await mkdir(out, { recursive: true });
      await writeFile(join(out, 'findings.jsonl'), findings.map((f) => JSON.stringify(f)).join('\n') + (findings.length ? '\n' : ''));
      await writeFile(join(out, 'runs.json'), `${JSON.stringify(records, null, 2)}\n`);
      // Every story's incident told whole (as `replay --out` writes it): the cards carry each
      // announcement, which may hold back the latest steps until the update interval has passed.
      const incidents = stories.incidents();
      await writeFile(join(out, 'incidents.jsonl'), incidents.map((i) => JSON.stringify(i)).join('\n') + (incidents.length ? '\n' : ''));
      const previewPath = await writeCardsPreview(join(out, 'notifications')).catch((error: Error) => `(preview not written: ${error.message})`);
      const summary = formatDemoSummary({ records, findings, announcements, incidents, seeded, drained, outDir: out, previewPath, graphRequests: environment.graph.requests.length });
      await writeFile(join(out, 'summary.txt'), summary);
      io.stdout(summary);
      const address = `${settings.incidents.allowlistBaseUrl ?? `http://127.0.0.1:${port}`}/allowlist`;
      io.stdout(
        page
          ? `\nAllowlist page: ${address} (signed in as the development principal "${DEMO_PRINCIPAL}"; Ctrl+C stops it)\n`
          : `\nAllowlist page: ${address} (serve it against this run's storage with: npm run demo -- --serve)\n`,
      );
    } else if (flags.has('json')) {
      io.stdout(`${JSON.stringify({ runs: records, delivery: drained })}\n`);
    } else {
      for (const run of records) {
        io.stdout(`${run.ruleId}: ${run.outcome}; ${run.counts.rows} rows, ${run.counts.findings} findings, ${run.counts.suppressed} suppressed, ` +
          `${run.counts.incidentsNew} new incidents, ${run.counts.notificationsEnqueued} notifications${run.error ? `; ${run.error}` : ''}\n`);
      }
      if (drained) io.stdout(`delivered ${drained.handled}, failed ${drained.failed}, poisoned ${drained.poisoned}\n`);
    }
    const failed = records.length < runtime.rules.length || records.some((r) => r.outcome === 'failed' || r.outcome === 'throttled');
    if (page) await untilInterrupted();
    return failed ? 1 : 0;
  } finally {
    await page?.close();
    await environment?.stop();
  }
}

/** The demo page's default port: the Functions host's, so the links match `func start` too. */
export const DEMO_PAGE_PORT = 7071;
/** Who the demo's page signs you in as (a development principal with every allowlist role). */
export const DEMO_PRINCIPAL = 'demo-user';

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

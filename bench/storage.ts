/**
 * Figure 5, storage round trips: requests to Table and Queue Storage per hunt cycle, counted by
 * a pipeline policy on the SDK clients, against an in-memory Azurite.
 *
 * Table clients get the policy through createHuntRuntime's `storagePolicies` (StorageFactory).
 * The notification queue cannot take one: production builds it in shared/notify/settings.ts
 * (createStorageClients, a StorageFactory without policies), which `storagePolicies` does not
 * reach; and a policy given to StorageFactory.queue fails every queue request with "Duplicate
 * policy names not allowed in pipeline" (@azure/storage-queue hands `additionalPolicies` both to
 * the core pipeline it builds and to the ServiceClient, which adds them again). So the bench takes
 * the production queue from createStorageClients and counts its requests by wrapping the request
 * methods of its two QueueClients (one call = one request; SDK retries, which a healthy Azurite
 * never triggers, would not show).
 *
 * Scenarios, in one timeline of 10-minute cycles (fixed clock, one rule):
 *  (b) a cycle whose window holds 2 findings on each of 1,000 new devices: 1,000 new incidents;
 *  (a) cycles that find nothing new: an empty window, and a window whose rows were all seen
 *      before (re-delivered overlap).
 * For (b) the entity writes are split into `$batch` transactions (entity operations inside them)
 * and single-entity writes.
 */
import type { QueueClient } from '@azure/storage-queue';
import { createHuntRuntime, type HuntRuntime } from '../shared/app/huntRuntime';
import { memoryLogger } from '../shared/app/logger';
import type { Clock } from '../shared/clock';
import { loadSettings } from '../shared/config/settings';
import { rowsForQuery } from '../shared/demo/windowedReplay';
import type { HuntingQueryRequest, HuntingQueryResults, HuntingSource } from '../shared/hunting/types';
import { parseChannels } from '../shared/notify/channels';
import { createStorageClients, deliverySettingsOf } from '../shared/notify/settings';
import { startAzurite, type AzuriteInstance } from '../shared/storage/azurite';
import type { StoragePolicy } from '../shared/storage/clients';
import { fmt, log, now, spread, type BenchSection, type MetricRow } from './common';
import { BENCH_TENANT, CHANNELS_JSON } from './fixtures';
import { loadCorpus, loadSample, type Row } from './synthetic';

export const EMPTY_CYCLE_TARGET = 4;
export const TRANSACTION_LIMIT = 100;

type Service = 'table' | 'queue' | 'other';
type Kind = 'read' | 'batch' | 'write' | 'create-table' | 'queue-send' | 'queue-other';

export interface RecordedRequest {
  service: Service;
  kind: Kind;
  method: string;
  path: string;
  /** Entity operations inside a $batch (0 otherwise). */
  batchOperations: number;
  /** The table a request (or a $batch's operations) addresses; the queue name for queue calls. */
  target: string;
}

interface PipelineRequestLike {
  url: string;
  method: string;
  body?: unknown;
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return '';
}

/** Counts every request the SDK clients send; classification by URL, method and batch body. */
/** QueueClient methods that each send exactly one request. */
const QUEUE_METHODS = ['sendMessage', 'receiveMessages', 'peekMessages', 'deleteMessage', 'updateMessage', 'getProperties', 'create', 'createIfNotExists', 'clearMessages', 'delete'] as const;

export class RequestCounter implements StoragePolicy {
  readonly name = 'benchRequestCounter';
  records: RecordedRequest[] = [];
  unreadableBatches = 0;

  constructor(
    private readonly tableUrl: string,
    private readonly queueUrl: string,
  ) {}

  reset(): void {
    this.records = [];
    this.unreadableBatches = 0;
  }

  /** Counts calls of a QueueClient's request methods (the queue takes no policy; see above). */
  wrapQueueClient(client: QueueClient): void {
    const target = client as unknown as Record<string, unknown>;
    for (const method of QUEUE_METHODS) {
      const original = target[method];
      if (typeof original !== 'function') continue;
      const call = (original as (...args: unknown[]) => unknown).bind(client);
      target[method] = (...args: unknown[]): unknown => {
        this.records.push({ service: 'queue', kind: method === 'sendMessage' ? 'queue-send' : 'queue-other', method, path: `/${client.name}`, batchOperations: 0, target: client.name });
        return call(...args);
      };
    }
  }

  sendRequest(request: unknown, next: (request: unknown) => Promise<unknown>): Promise<unknown> {
    this.record(request as PipelineRequestLike);
    return next(request);
  }

  private record(request: PipelineRequestLike): void {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const service: Service = request.url.startsWith(this.tableUrl) ? 'table' : request.url.startsWith(this.queueUrl) ? 'queue' : 'other';
    const path = url.pathname;
    let kind: Kind;
    let batchOperations = 0;
    let target = decodeURIComponent(path.split('/')[2] ?? '').replace(/\(.*$/, '');
    if (service === 'queue') {
      kind = method === 'POST' && /\/messages$/.test(path) ? 'queue-send' : 'queue-other';
    } else if (/\/\$batch$/.test(path)) {
      kind = 'batch';
      const text = bodyText(request.body);
      const operations = [...text.matchAll(/^(?:POST|PUT|PATCH|MERGE|DELETE) https?:\/\/[^/\s]+\/[^/\s]+\/([^(\s?]+)/gm)];
      batchOperations = operations.length;
      target = operations[0]?.[1] ?? '$batch';
      if (text === '') this.unreadableBatches++;
    } else if (/\/Tables(\(|$)/.test(path)) {
      kind = 'create-table';
    } else {
      kind = method === 'GET' ? 'read' : 'write';
    }
    this.records.push({ service, kind, method, path, batchOperations, target });
  }
}

export interface CycleCount {
  label: string;
  total: number;
  table: number;
  queue: number;
  reads: number;
  batches: number;
  batchOperations: number;
  maxBatchOperations: number;
  singleWrites: number;
  queueSends: number;
  queueOther: number;
  incidentsNew: number;
  notificationsEnqueued: number;
  findings: number;
  outcome: string;
  ms: number;
  byPath: Record<string, number>;
}

function summarise(label: string, records: readonly RecordedRequest[], names: ReadonlyMap<string, string>, run: { incidentsNew: number; notificationsEnqueued: number; findings: number; outcome: string }, ms: number): CycleCount {
  const byPath: Record<string, number> = {};
  const ops: Record<string, number> = {};
  for (const r of records) {
    const key = `${r.kind} ${names.get(r.target) ?? r.target}`;
    byPath[key] = (byPath[key] ?? 0) + 1;
    if (r.kind === 'batch') ops[key] = (ops[key] ?? 0) + r.batchOperations;
  }
  for (const [key, count] of Object.entries(ops)) byPath[`${key} (entity ops)`] = count;
  const batches = records.filter((r) => r.kind === 'batch');
  return {
    label,
    total: records.length,
    table: records.filter((r) => r.service === 'table').length,
    queue: records.filter((r) => r.service === 'queue').length,
    reads: records.filter((r) => r.kind === 'read').length,
    batches: batches.length,
    batchOperations: batches.reduce((n, r) => n + r.batchOperations, 0),
    maxBatchOperations: batches.reduce((n, r) => Math.max(n, r.batchOperations), 0),
    singleWrites: records.filter((r) => r.kind === 'write').length,
    queueSends: records.filter((r) => r.kind === 'queue-send').length,
    queueOther: records.filter((r) => r.kind === 'queue-other').length,
    ...run,
    ms,
    byPath,
  };
}

class BenchClock implements Clock {
  constructor(private current: number) {}
  now(): Date {
    return new Date(this.current);
  }
  async sleep(ms: number): Promise<void> {
    this.current += ms;
  }
  set(at: number): void {
    this.current = at;
  }
}

/** Answers like Defender: the rows of the window the query names; or a fixed answer when set. */
class WindowedSource implements HuntingSource {
  fixed: HuntingQueryResults | null = null;
  constructor(readonly data: HuntingQueryResults) {}
  async runHuntingQuery(request: HuntingQueryRequest): Promise<HuntingQueryResults> {
    return this.fixed ?? rowsForQuery(this.data, request.query);
  }
}

const CYCLE_MS = 10 * 60_000;
const INGESTION_DELAY_MS = 5 * 60_000;

/**
 * Rows for one batch of new incidents: `devices` new devices with `perDevice` findings each (the
 * same corpus line on a device, so one incident per device), inside the window of the cycle that
 * runs at `cycleAt` and outside the next cycle's overlap.
 */
function incidentRows(batch: number, devices: number, perDevice: number, cycleAt: number): Row[] {
  const corpus = loadCorpus();
  const sample = loadSample();
  const template = sample.results[0] ?? {};
  const rows: Row[] = [];
  const windowEnd = cycleAt - INGESTION_DELAY_MS;
  for (let d = 0; d < devices; d++) {
    const line = corpus[d % corpus.length];
    if (!line) continue;
    const name = `ws-b${batch}-${String(d).padStart(4, '0')}.contoso.local`;
    for (let k = 0; k < perDevice; k++) {
      const time = windowEnd - 8 * 60_000 + ((d * perDevice + k) % 240) * 1000;
      rows.push({
        ...template,
        Timestamp: new Date(time).toISOString(),
        IngestionTime: new Date(time + 60_000).toISOString(),
        DeviceId: Buffer.from(name).toString('hex').slice(0, 40).padEnd(40, '0'),
        DeviceName: name,
        ReportId: batch * 1_000_000 + d * 10 + k,
        AccountName: `user${d % 97}`,
        ProcessCommandLine: line.commandLine,
        FileName: `${line.tool === 'pvk2pfx' ? 'pvk2pfx' : line.tool}.exe`,
        ProcessVersionInfoOriginalFileName: `${line.tool}.exe`,
        DetectionBranch: line.tool === 'makecert' || line.tool === 'pvk2pfx' ? 'makecert-pvk2pfx' : line.tool,
        InitiatingProcessFileName: 'explorer.exe',
        IsSuspiciousParent: false,
        IsTempLocation: false,
      });
    }
  }
  return rows;
}

function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`.replace(/[^a-z0-9]/g, '');
}

export interface StorageRaw {
  emptyWindow: CycleCount[];
  reseenWindow: CycleCount[];
  newIncidents: CycleCount[];
  setupMs: number;
  unreadableBatches: number;
  queueNote: string;
}

async function measuredCycle(runtime: HuntRuntime, counter: RequestCounter, label: string, names: ReadonlyMap<string, string>): Promise<CycleCount> {
  counter.reset();
  const started = now();
  const [record] = await runtime.runAll();
  const ms = now() - started;
  if (!record) throw new Error(`${label}: the cycle produced no run record`);
  if (record.outcome !== 'succeeded') throw new Error(`${label}: cycle ${record.outcome}: ${record.error ?? ''}`);
  return summarise(label, counter.records, names, { incidentsNew: record.counts.incidentsNew, notificationsEnqueued: record.counts.notificationsEnqueued, findings: record.counts.findings, outcome: record.outcome }, ms);
}

export async function benchStorage(options: { repetitions: number; incidentRepetitions: number; newIncidents: number }): Promise<BenchSection<StorageRaw>> {
  const setupStart = now();
  let azurite: AzuriteInstance | null = null;
  try {
    azurite = await startAzurite();
    const counter = new RequestCounter(azurite.tableUrl, azurite.queueUrl);
    const env: Record<string, string> = {
      Storage: azurite.connectionString,
      TENANT_ID: BENCH_TENANT,
      CHECKPOINTS_TABLE: uniqueName('ckpt'),
      INCIDENTS_TABLE: uniqueName('inc'),
      ALLOWLIST_TABLE: uniqueName('allow'),
      ALLOWLIST_AUDIT_TABLE: uniqueName('audit'),
      DELIVERIES_TABLE: uniqueName('deliv'),
      RECENT_STEPS_TABLE: uniqueName('steps'),
      NOTIFICATION_QUEUE: uniqueName('ntf'),
      NOTIFY_CHANNELS: CHANNELS_JSON,
      HUNT_INGESTION_DELAY_MINUTES: '5',
      HUNT_OVERLAP_MINUTES: '2',
      HUNT_INITIAL_LOOKBACK_MINUTES: '60',
      ALLOWLIST_BASE_URL: 'https://codesign-hunt.contoso.com',
    };
    const settings = loadSettings(env);
    // Readable names in the breakdown: the setting each table or queue comes from.
    const names = new Map<string, string>(
      ['CHECKPOINTS_TABLE', 'INCIDENTS_TABLE', 'ALLOWLIST_TABLE', 'ALLOWLIST_AUDIT_TABLE', 'DELIVERIES_TABLE', 'RECENT_STEPS_TABLE', 'NOTIFICATION_QUEUE'].map((key) => [
        env[key] ?? key,
        key.replace(/_TABLE$/, '').toLowerCase().replace(/_/g, '-'),
      ]),
    );
    // The production queue, from the production wiring; its request methods counted.
    const { queue } = createStorageClients(deliverySettingsOf(settings));
    counter.wrapQueueClient(queue.queue);
    counter.wrapQueueClient(queue.poisonQueue);
    await queue.ensureQueues();

    // Timeline: cycle i runs at start + i * 10 min.
    const start = Date.parse('2026-11-26T12:00:00.000Z');
    const at = (cycle: number): number => start + cycle * CYCLE_MS;
    const plan: { label: string; cycle: number; kind: 'new' | 'empty' | 'reseen' }[] = [];
    let cycle = 1;
    plan.push({ label: 'new-1', cycle: cycle++, kind: 'new' });
    for (let i = 0; i < options.repetitions; i++) plan.push({ label: `empty-${i + 1}`, cycle: cycle++, kind: 'empty' });
    for (let i = 1; i < options.incidentRepetitions; i++) plan.push({ label: `new-${i + 1}`, cycle: cycle++, kind: 'new' });
    for (let i = 0; i < options.repetitions; i++) plan.push({ label: `reseen-${i + 1}`, cycle: cycle++, kind: 'reseen' });

    const data: Row[] = [];
    const batches = new Map<string, Row[]>();
    let batch = 0;
    for (const step of plan) {
      if (step.kind !== 'new') continue;
      const rows = incidentRows(++batch, options.newIncidents, 2, at(step.cycle));
      batches.set(step.label, rows);
      data.push(...rows);
    }
    const schema = loadSample().schema;
    const source = new WindowedSource({ schema, results: data });
    const clock = new BenchClock(at(0));
    const runtime = createHuntRuntime({
      settings,
      log: memoryLogger(),
      clock,
      channels: parseChannels(settings.delivery.channelsJson),
      queue,
      source,
      storagePolicies: [counter],
      random: () => 0.5,
    });
    await runtime.ensureStorage();
    await seedAllowlist(runtime, clock);
    // The first cycle of a fresh checkpoint would also be the first to touch each table; start the
    // timeline with one unmeasured cycle so every measured one is a steady-state cycle.
    clock.set(at(0));
    await runtime.runAll();
    const setupMs = now() - setupStart;
    log(`storage: Azurite and tables ready in ${fmt(setupMs / 1000, 1)} s`);

    const raw: StorageRaw = {
      emptyWindow: [],
      reseenWindow: [],
      newIncidents: [],
      setupMs,
      unreadableBatches: 0,
      queueNote:
        'queue requests are counted by wrapping the QueueClient request methods of the production NotificationQueue (shared/notify/settings.ts ' +
        'createStorageClients), which storagePolicies do not reach; table requests are counted by the policy given as storagePolicies',
    };
    let lastNew: Row[] = [];
    for (const step of plan) {
      clock.set(at(step.cycle));
      source.fixed = step.kind === 'reseen' ? { schema, results: lastNew.slice(0, 20) } : null;
      const count = await measuredCycle(runtime, counter, step.label, names);
      raw.unreadableBatches += counter.unreadableBatches;
      if (step.kind === 'new') {
        lastNew = batches.get(step.label) ?? [];
        raw.newIncidents.push(count);
      } else if (step.kind === 'empty') raw.emptyWindow.push(count);
      else raw.reseenWindow.push(count);
      log(`storage ${step.label}: ${count.total} requests (table ${count.table}, queue ${count.queue}), ${count.incidentsNew} new incidents, ${fmt(count.ms, 0)} ms`);
    }
    return storageSection(raw, options.newIncidents);
  } finally {
    await azurite?.stop();
  }
}

/** The ~100 realistic entries are not needed here; a dozen active entries make listEntries real. */
async function seedAllowlist(runtime: HuntRuntime, clock: BenchClock): Promise<void> {
  const expiresAt = new Date(clock.now().getTime() + 30 * 86_400_000).toISOString();
  for (let i = 0; i < 12; i++) {
    await runtime.allowlist.createEntry(
      { conditions: { signerSubject: `CN=Vendor ${i} Code Signing` }, scope: 'global', reason: 'benchmark vendor', owner: 'bench', expiresAt, permanent: false, enabled: true },
      'bench',
    );
  }
}

function countRow(id: string, metric: string, counts: readonly CycleCount[], pick: (c: CycleCount) => number, target: string, pass: ((v: number) => boolean) | null, note?: string): MetricRow {
  const s = spread(counts.map(pick));
  return { id, metric, value: s.median, unit: 'req', spread: s, target, pass: pass ? pass(s.max) : null, ...(note ? { note } : {}) };
}

function breakdown(c: CycleCount | undefined): string {
  if (!c) return '';
  return Object.entries(c.byPath)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function storageSection(raw: StorageRaw, newIncidents: number): BenchSection<StorageRaw> {
  const within = (v: number): boolean => v <= EMPTY_CYCLE_TARGET;
  const n = raw.newIncidents;
  const rows: MetricRow[] = [
    countRow('storage.empty.total', 'requests, cycle with an empty window', raw.emptyWindow, (c) => c.total, `<= ${EMPTY_CYCLE_TARGET}`, within, `n=${raw.emptyWindow.length}`),
    countRow('storage.reseen.total', 'requests, cycle re-seeing only known rows', raw.reseenWindow, (c) => c.total, `<= ${EMPTY_CYCLE_TARGET}`, within, `n=${raw.reseenWindow.length}, ${raw.reseenWindow[0]?.findings ?? 0} known findings`),
    countRow('storage.new.total', `requests, cycle with ${newIncidents.toLocaleString('en-US')} new incidents`, n, (c) => c.total, '-', null, `n=${n.length}, ${n[0]?.incidentsNew ?? 0} incidents counted`),
    countRow('storage.new.table', '  table requests', n, (c) => c.table, '-', null),
    countRow('storage.new.reads', '    reads (GET/queries)', n, (c) => c.reads, '-', null),
    countRow('storage.new.batches', '    $batch transactions', n, (c) => c.batches, '-', null, `max ${Math.max(0, ...n.map((c) => c.maxBatchOperations))} ops each`),
    countRow('storage.new.batchOperations', '    entity writes inside $batch', n, (c) => c.batchOperations, '-', null),
    countRow('storage.new.singleWrites', '    single-entity writes', n, (c) => c.singleWrites, '-', null),
    countRow('storage.new.queue', '  queue requests (one per message sent)', n, (c) => c.queue, '-', null, `${n[0]?.notificationsEnqueued ?? 0} messages enqueued`),
  ];
  const batchedOk = n.every((c) => c.maxBatchOperations <= TRANSACTION_LIMIT && c.batchOperations >= c.singleWrites);
  rows.push({
    id: 'storage.new.batched',
    metric: '  entity writes batched, <= 100 per transaction',
    value: n.length > 0 ? n.reduce((s, c) => s + c.batchOperations, 0) / Math.max(1, n.reduce((s, c) => s + c.batchOperations + c.singleWrites, 0)) : NaN,
    unit: 'share',
    target: 'batched',
    pass: batchedOk,
    note: `${fmt(spread(n.map((c) => c.batchOperations / Math.max(1, c.batches))).median, 1)} ops per $batch on average`,
  });
  const notes = [
    raw.queueNote,
    `storage, empty window: ${breakdown(raw.emptyWindow[0])}`,
    `storage, re-seen rows: ${breakdown(raw.reseenWindow[0])}`,
    `storage, ${newIncidents} new incidents: ${breakdown(n[0])}`,
  ];
  if (raw.unreadableBatches > 0) notes.push(`storage: ${raw.unreadableBatches} $batch bodies could not be read (operations not counted)`);
  return { rows, raw, notes };
}

/**
 * The fault-injection run (issue #15 item 5): many scheduled cycles, each in a child process
 * (test/chaos/child.ts) against Azurite, a local Graph server and a local webhook receiver that
 * both fail on a seeded schedule, with the child SIGKILLed at seeded points between stages. Then
 * a few clean cycles let everything settle, and the run checks what a tenant relies on:
 * - no gap: the windows Defender answered cover every minute from the first window's start to the
 *   final checkpoint;
 * - no row lost: every row's finding is in an incident the receiver accepted;
 * - no `incident.created` twice for an incident (two webhook-ids announcing its creation);
 * - one body per webhook-id;
 * - revisions of an incident accepted in order.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { TableClient, odata } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { STAGES, type Stage } from '../../shared/stages';
import type { ChildConfig, ChildToParent } from './child';
import { MIN, RULE_ID, generateRows, seededRandom, startChaosGraph, startChaosReceiver, type Delivered } from './world';

export const CHAOS_SECRET = `whsec_${Buffer.from('codesign-hunt-chaos-receiver-secret!!').toString('base64')}`;
const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const CYCLE_MS = 10 * MIN;

export interface ChaosOptions {
  /** The child program, built to JavaScript (see scripts/chaos.mjs and chaos.test.ts). */
  childScript: string;
  connectionString: string;
  cycles: number;
  seed: number;
  /** Share of cycles killed at some stage. */
  killRate?: number;
  graphFaultRate?: number;
  receiverFaultRate?: number;
  /** Rows per 10 minutes, on average. */
  rowsPerCycle?: number;
  maxSettleCycles?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  cycles: number;
  settleCycles: number;
  kills: number;
  killsByStage: Partial<Record<Stage, number>>;
  graphRequests: number;
  graphFaults: number;
  receiverRequests: number;
  receiverFaults: number;
  outageCycles: number;
  cycleOutcomes: Record<string, number>;
  rows: number;
  incidents: number;
  notificationsAccepted: number;
  repeatedDeliveries: number;
  childErrors: string[];
  // What must be zero.
  gaps: Array<[string, string]>;
  lostRows: number;
  /** Up to 20 of the lost rows' finding ids, to start an investigation from. */
  lostFindingIds: string[];
  doubleCreated: number;
  bodyChanges: number;
  /** Ids enqueued with more than one body (a stricter check than at the receiver). */
  bodyChangesEnqueued: number;
  outOfOrder: number;
  badSignatures: number;
  poisoned: number;
  heldAtEnd: number;
  pendingAtEnd: number;
}

interface KillPlan {
  stage: Stage;
  occurrence: number;
}

function names(seed: number): Record<string, string> {
  const suffix = `${seed.toString(36)}${Date.now().toString(36)}`.replace(/[^a-z0-9]/g, '');
  return {
    CHECKPOINTS_TABLE: `chaosckpt${suffix}`,
    INCIDENTS_TABLE: `chaosinc${suffix}`,
    ALLOWLIST_TABLE: `chaosallow${suffix}`,
    ALLOWLIST_AUDIT_TABLE: `chaosaudit${suffix}`,
    DELIVERIES_TABLE: `chaosdeliv${suffix}`,
    RECENT_STEPS_TABLE: `chaossteps${suffix}`,
    RECENT_FINDINGS_TABLE: `chaosrecent${suffix}`,
    NOTIFICATION_QUEUE: `chaos-ntf-${suffix}`,
    JOURNAL_TABLE: `chaosjournal${suffix}`,
  };
}

/** Runs one child cycle; kills it at `plan` if that stage is reached. */
function runChild(script: string, config: ChildConfig, plan: KillPlan | null): Promise<{ killedAt: Stage | null; outcomes: string[]; errors: string[] }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(script, [], { env: { ...process.env, CHAOS_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const seen = new Map<Stage, number>();
    let killedAt: Stage | null = null;
    let outcomes: string[] = [];
    let errors: string[] = [];
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('message', (message: ChildToParent) => {
      if ('done' in message) {
        outcomes = message.outcomes;
        errors = message.errors;
        return;
      }
      const count = (seen.get(message.stage) ?? 0) + 1;
      seen.set(message.stage, count);
      if (plan && killedAt === null && message.stage === plan.stage && count === plan.occurrence) {
        killedAt = message.stage;
        child.kill('SIGKILL');
        return;
      }
      child.send({ go: true });
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (killedAt !== null && signal === 'SIGKILL') resolve({ killedAt, outcomes, errors });
      else if (code === 0) resolve({ killedAt: null, outcomes, errors });
      else reject(new Error(`chaos child exited with ${code ?? signal}: ${stderr.slice(0, 2000)}`));
    });
  });
}

/** Merged [start, end) intervals. */
function merge(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

async function countEntities(table: TableClient, filter: string): Promise<number> {
  let n = 0;
  for await (const _ of table.listEntities({ queryOptions: { filter } })) n++;
  return n;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const fault = { faulty: true };
  const rows = generateRows(seededRandom(options.seed + 1), T0 - 90 * MIN, T0 + options.cycles * CYCLE_MS, options.rowsPerCycle ?? 1.5);
  const graph = await startChaosGraph(rows.data, seededRandom(options.seed + 2), options.graphFaultRate ?? 0.15, fault);
  const receiver = await startChaosReceiver(CHAOS_SECRET, seededRandom(options.seed + 3), options.receiverFaultRate ?? 0.2, fault);
  const { JOURNAL_TABLE: journalTable, ...tables } = names(options.seed);
  const env: Record<string, string> = {
    Storage: options.connectionString,
    TENANT_ID: 'contoso-chaos',
    HUNT_RULES: RULE_ID,
    GRAPH_BASE_URL: graph.baseUrl,
    GRAPH_AUTH: 'none',
    ...tables,
    NOTIFY_CHANNELS: JSON.stringify([{ id: 'soar', type: 'webhook', url: receiver.url, minSeverity: 'informational', kinds: ['incident', 'health'], secret: CHAOS_SECRET }]),
    DELIVERY_ALLOW_LOOPBACK: 'true',
    DELIVERY_TIMEOUT_SECONDS: '5',
    // Two hours of look-back in 10-minute chunks, four per cycle: the first cycles backfill, and a
    // cycle after a crash hunts more than one window, so every stage is reached often.
    HUNT_INITIAL_LOOKBACK_MINUTES: '120',
    HUNT_BACKFILL_CHUNK_MINUTES: '10',
    HUNT_MAX_CHUNKS_PER_CYCLE: '4',
    HUNT_LEASE_SECONDS: '300',
    INCIDENT_UPDATE_INTERVAL_MINUTES: '10',
  };

  const report: ChaosReport = {
    cycles: 0,
    settleCycles: 0,
    kills: 0,
    killsByStage: {},
    graphRequests: 0,
    graphFaults: 0,
    receiverRequests: 0,
    receiverFaults: 0,
    outageCycles: 0,
    cycleOutcomes: {},
    rows: rows.findingIds.length,
    incidents: 0,
    notificationsAccepted: 0,
    repeatedDeliveries: 0,
    childErrors: [],
    gaps: [],
    lostRows: 0,
    lostFindingIds: [],
    doubleCreated: 0,
    bodyChanges: 0,
    bodyChangesEnqueued: 0,
    outOfOrder: 0,
    badSignatures: 0,
    poisoned: 0,
    heldAtEnd: 0,
    pendingAtEnd: 0,
  };

  const cycle = async (index: number, plan: KillPlan | null): Promise<Stage | null> => {
    const config: ChildConfig = {
      now: new Date(T0 + index * CYCLE_MS).toISOString(),
      seed: options.seed * 1000 + index,
      env,
      maxDeliveries: 400,
      journalTable: journalTable!,
    };
    const result = await runChild(options.childScript, config, plan);
    for (const outcome of result.outcomes) report.cycleOutcomes[outcome] = (report.cycleOutcomes[outcome] ?? 0) + 1;
    report.childErrors.push(...result.errors);
    if (result.killedAt) {
      report.kills++;
      report.killsByStage[result.killedAt] = (report.killsByStage[result.killedAt] ?? 0) + 1;
    }
    return result.killedAt;
  };

  const incidents = TableClient.fromConnectionString(options.connectionString, tables.INCIDENTS_TABLE!, { allowInsecureConnection: true });
  const deliveries = TableClient.fromConnectionString(options.connectionString, tables.DELIVERIES_TABLE!, { allowInsecureConnection: true });
  const checkpoints = TableClient.fromConnectionString(options.connectionString, tables.CHECKPOINTS_TABLE!, { allowInsecureConnection: true });
  const queue = new QueueClient(options.connectionString, tables.NOTIFICATION_QUEUE!);
  const poison = new QueueClient(options.connectionString, `${tables.NOTIFICATION_QUEUE!}-poison`);

  try {
    for (const [key, name] of [...Object.entries(tables), ['JOURNAL_TABLE', journalTable!]]) {
      if (key!.endsWith('_TABLE')) await TableClient.fromConnectionString(options.connectionString, name!, { allowInsecureConnection: true }).createTable();
    }
    await queue.createIfNotExists();
    await poison.createIfNotExists();

    // The first cycles die right after taking the lease and right after recording the origin: a
    // crash in the very first cycle must not open a gap (item 4). Then every stage in turn (a stage
    // the cycle did not reach is tried again next time), at a seeded occurrence, in a seeded share
    // of the cycles.
    const rotation = [...STAGES.filter((s) => s !== 'lease-taken' && s !== 'origin-recorded')];
    let next = 0;
    let outageLeft = 0;
    for (let index = 0; index < options.cycles; index++) {
      // Receiver outages of 2-5 cycles (the first one always at cycle 6): the channel is paused,
      // what waits is held, and released when it answers again.
      if (outageLeft > 0) outageLeft--;
      else if (index === 6 || random() < 0.06) outageLeft = 2 + Math.floor(random() * 4);
      receiver.down = outageLeft > 0;
      if (receiver.down) report.outageCycles++;
      let plan: KillPlan | null = null;
      if (index === 0) plan = { stage: 'lease-taken', occurrence: 1 };
      else if (index === 1) plan = { stage: 'origin-recorded', occurrence: 1 };
      else if (random() < (options.killRate ?? 0.6)) {
        const stage = rotation[next % rotation.length]!;
        // Hunt stages come round several times a cycle (one per window); a cycle may deliver little.
        plan = { stage, occurrence: stage.startsWith('delivery') || stage === 'revision-recorded' ? 1 : 1 + Math.floor(random() * 2) };
      }
      const killedAt = await cycle(index, plan);
      if (killedAt && index > 1) next++;
      report.cycles++;
      if (index % 10 === 9) log(`chaos: ${index + 1} cycles, ${report.kills} kills, ${graph.faults} Graph faults, ${receiver.faults} receiver faults`);
    }

    // Settle: no faults, no kills, time moves on until everything is hunted, announced and delivered.
    fault.faulty = false;
    receiver.down = false;
    const hunted = async (): Promise<boolean> => {
      const row = await checkpoints.getEntity<{ checkpoint: string }>(`contoso-chaos|${RULE_ID}`, 'checkpoint').catch(() => null);
      return !!row?.checkpoint && Date.parse(row.checkpoint) > rows.lastIngestion;
    };
    const quiet = async (): Promise<boolean> =>
      (await queue.getProperties()).approximateMessagesCount === 0 &&
      (await countEntities(deliveries, odata`state eq ${'held'}`)) === 0 &&
      (await countEntities(incidents, "pendingSince gt ''")) === 0;
    const maxSettle = options.maxSettleCycles ?? 40;
    for (let extra = 0; extra < maxSettle; extra++) {
      if (extra >= 2 && (await hunted()) && (await quiet())) break;
      await cycle(options.cycles + extra, null);
      report.settleCycles++;
    }

    // The verdict.
    const accepted: Delivered[] = receiver.accepted;
    report.graphRequests = graph.requests.length;
    report.graphFaults = graph.faults;
    report.receiverRequests = receiver.requests;
    report.receiverFaults = receiver.faults;
    report.badSignatures = receiver.badSignatures;
    report.poisoned = (await poison.getProperties()).approximateMessagesCount ?? 0;
    report.heldAtEnd = await countEntities(deliveries, odata`state eq ${'held'}`);
    report.pendingAtEnd = await countEntities(incidents, "pendingSince gt ''");

    const state = await checkpoints.getEntity<{ checkpoint: string; origin: string }>(`contoso-chaos|${RULE_ID}`, 'checkpoint');
    const covered = merge(graph.answered);
    const from = Date.parse(state.origin);
    const to = Date.parse(state.checkpoint);
    const inside = covered.filter(([s, e]) => e > from && s < to);
    if (inside.length !== 1 || inside[0]![0] > from || inside[0]![1] < to) {
      report.gaps = inside.map(([s, e]) => [new Date(s).toISOString(), new Date(e).toISOString()]);
      if (report.gaps.length === 0) report.gaps = [[state.origin, state.checkpoint]];
    }

    const seenFindings = new Set(accepted.flatMap((d) => d.findingIds));
    const lost = rows.findingIds.filter((id) => !seenFindings.has(id));
    report.lostRows = lost.length;
    report.lostFindingIds = lost.slice(0, 20);

    const bodies = new Map<string, Set<string>>();
    for (const d of accepted) bodies.set(d.id, (bodies.get(d.id) ?? new Set()).add(d.body));
    report.bodyChanges = [...bodies.values()].filter((b) => b.size > 1).length;
    const enqueuedBodies = new Map<string, number>();
    const journal = TableClient.fromConnectionString(options.connectionString, journalTable!, { allowInsecureConnection: true });
    for await (const e of journal.listEntities()) enqueuedBodies.set(e.partitionKey ?? '', (enqueuedBodies.get(e.partitionKey ?? '') ?? 0) + 1);
    report.bodyChangesEnqueued = [...enqueuedBodies.values()].filter((n) => n > 1).length;
    report.notificationsAccepted = bodies.size;
    report.repeatedDeliveries = accepted.length - bodies.size;

    const createdIds = new Map<string, Set<string>>();
    const revisions = new Map<string, number[]>();
    for (const d of accepted) {
      if (!d.incidentId) continue;
      if (d.type === 'incident.created') createdIds.set(d.incidentId, (createdIds.get(d.incidentId) ?? new Set()).add(d.id));
      revisions.set(d.incidentId, [...(revisions.get(d.incidentId) ?? []), d.revision ?? 0]);
    }
    report.incidents = revisions.size;
    report.doubleCreated = [...createdIds.values()].filter((ids) => ids.size > 1).length;
    for (const list of revisions.values()) for (let i = 1; i < list.length; i++) if (list[i]! < list[i - 1]!) report.outOfOrder++;
    return report;
  } finally {
    await graph.close();
    await receiver.close();
  }
}

/** What went wrong, one sentence each; empty when every guarantee held. */
export function failures(report: ChaosReport): string[] {
  const problems: string[] = [];
  if (report.gaps.length > 0) problems.push(`gaps in hunted windows: ${JSON.stringify(report.gaps)}`);
  if (report.lostRows > 0) problems.push(`${report.lostRows} rows not in any delivered incident (e.g. ${report.lostFindingIds.slice(0, 3).join(', ')})`);
  if (report.doubleCreated > 0) problems.push(`${report.doubleCreated} incidents announced as created under two webhook-ids`);
  if (report.bodyChanges > 0 || report.bodyChangesEnqueued > 0) problems.push(`${report.bodyChanges} webhook-ids received (${report.bodyChangesEnqueued} enqueued) with two bodies`);
  if (report.outOfOrder > 0) problems.push(`${report.outOfOrder} revisions received after a newer one`);
  if (report.badSignatures > 0) problems.push(`${report.badSignatures} bad signatures`);
  if (report.poisoned > 0 || report.heldAtEnd > 0 || report.pendingAtEnd > 0) {
    problems.push(`not settled: ${report.poisoned} poisoned, ${report.heldAtEnd} held, ${report.pendingAtEnd} incidents pending`);
  }
  if (report.childErrors.length > 0) problems.push(`unexpected errors in cycles: ${report.childErrors.slice(0, 5).join(' | ')}`);
  return problems;
}

/** The figures, one per line, for the console. */
export function formatReport(report: ChaosReport): string {
  const stages = Object.entries(report.killsByStage)
    .map(([stage, n]) => `${stage} ${n}`)
    .join(', ');
  return [
    `cycles: ${report.cycles} with faults and kills, then ${report.settleCycles} clean (outcomes: ${JSON.stringify(report.cycleOutcomes)})`,
    `kills (SIGKILL): ${report.kills} (${stages})`,
    `Graph: ${report.graphRequests} requests, ${report.graphFaults} faults`,
    `receiver: ${report.receiverRequests} requests, ${report.receiverFaults} faults, ${report.outageCycles} cycles of outage`,
    `rows: ${report.rows}; incidents: ${report.incidents}; notifications accepted: ${report.notificationsAccepted} (+${report.repeatedDeliveries} repeated deliveries of the same webhook-id)`,
    `gaps: ${report.gaps.length}; lost rows: ${report.lostRows}; incident.created twice: ${report.doubleCreated}; ` +
      `body changes per webhook-id: ${report.bodyChanges} (enqueued: ${report.bodyChangesEnqueued}); out-of-order revisions: ${report.outOfOrder}`,
    `bad signatures: ${report.badSignatures}; poison queue: ${report.poisoned}; held at the end: ${report.heldAtEnd}; incidents pending at the end: ${report.pendingAtEnd}`,
  ].join('\n');
}

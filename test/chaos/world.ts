/**
 * The world the fault-injection test runs against, all seeded so a run can be repeated: hunting
 * rows arriving over simulated time, a local Graph server (the real runHuntingQuery contract)
 * that answers each query with the rows of its window and fails on a seeded schedule, and a local
 * webhook receiver that fails on a seeded schedule (including outages of several cycles) and
 * records every request it accepted, with its signature checked by the standardwebhooks library.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { loadDemoSample } from '../../shared/demo/demo';
import { rowsForQuery, windowOfQuery } from '../../shared/demo/windowedReplay';
import { startLocalGraphServer, type LocalGraphServer } from '../../shared/hunting/replaySource';
import type { HuntingQueryResults } from '../../shared/hunting/types';
import { normaliseResults } from '../../shared/normalise/normalise';
import { prng } from '../../bench/synthetic';

/** The bench's seeded PRNG (mulberry32): the same sequence for the same seed everywhere. */
export const seededRandom = prng;

export const RULE_ID = 't1587-002';
export const MIN = 60_000;

export interface Rows {
  data: HuntingQueryResults;
  /** Finding id of every row (what the hunt must turn each row into). */
  findingIds: string[];
  lastIngestion: number;
}

/**
 * Rows of the demo sample's devices and signers arriving between `from` and `to` (ingestion
 * time), about `perCycle` per 10 minutes: the same device and signer come back, so incidents grow
 * and get new revisions.
 */
export function generateRows(random: () => number, from: number, to: number, perCycle: number): Rows {
  const sample = loadDemoSample();
  const usable = normaliseResults(sample, { ruleId: RULE_ID, defaultSeverity: 'medium' }).findings.map((f) => f.reportId);
  const templates = sample.results.filter((row) => usable.includes(Number(row.ReportId))).slice(0, 12);
  const results: Record<string, unknown>[] = [];
  let reportId = 500_000;
  for (let at = from; at < to; at += 10 * MIN) {
    const count = Math.floor(random() * (2 * perCycle + 1));
    for (let i = 0; i < count; i++) {
      const template = templates[Math.floor(random() * templates.length)] ?? templates[0]!;
      const ingested = at + Math.floor(random() * 10 * MIN);
      if (ingested >= to) continue;
      results.push({
        ...template,
        ReportId: reportId++,
        Timestamp: new Date(ingested - Math.floor(random() * 3 * MIN)).toISOString(),
        IngestionTime: new Date(ingested).toISOString(),
      });
    }
  }
  const data = { schema: sample.schema, results };
  const normalised = normaliseResults(data, { ruleId: RULE_ID, defaultSeverity: 'medium' });
  if (normalised.rejected.length > 0) throw new Error(`generated rows were rejected: ${normalised.rejected.map((r) => r.reason).join('; ')}`);
  const lastIngestion = Math.max(...results.map((r) => Date.parse(String(r.IngestionTime))));
  return { data, findingIds: normalised.findings.map((f) => f.id), lastIngestion };
}

export interface FaultSwitch {
  /** When false, the server answers every request normally (the settling cycles). */
  faulty: boolean;
}

export interface ChaosGraph extends LocalGraphServer {
  faults: number;
  /** Windows answered with 200, as [start, end) epoch ms. */
  answered: Array<[number, number]>;
}

/** A Graph that fails about `rate` of its answers: 5xx, 429 with Retry-After, or 403. */
export async function startChaosGraph(rows: HuntingQueryResults, random: () => number, rate: number, fault: FaultSwitch): Promise<ChaosGraph> {
  const answered: Array<[number, number]> = [];
  let faults = 0;
  const graph = await startLocalGraphServer(rows, {
    respond: (request) => {
      const query = request.query ?? '';
      if (fault.faulty && random() < rate) {
        faults++;
        const r = random();
        if (r < 0.4) return { status: 500, body: { error: { code: 'InternalServerError', message: 'chaos' } } };
        if (r < 0.7) return { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'chaos' } } };
        if (r < 0.9) return { status: 429, headers: { 'Retry-After': '20' }, body: { error: { code: 'TooManyRequests', message: 'chaos' } } };
        return { status: 403, body: { error: { code: 'Forbidden', message: 'chaos: insufficient privileges' } } };
      }
      const window = windowOfQuery(query);
      if (window) answered.push([window.start, window.end]);
      const answer = rowsForQuery(rows, query);
      return { status: 200, body: { schema: answer.schema, results: answer.results } };
    },
  });
  // A getter, not a copied value: faults keep counting after this returns.
  return Object.defineProperties(graph, {
    answered: { value: answered },
    faults: { get: () => faults },
  }) as ChaosGraph;
}

export interface Delivered {
  id: string;
  type: string;
  body: string;
  incidentId: string | null;
  revision: number | null;
  findingIds: string[];
}

export interface ChaosReceiver {
  url: string;
  /** Requests answered 2xx with a valid signature, in arrival order. */
  accepted: Delivered[];
  requests: number;
  faults: number;
  badSignatures: number;
  /** An outage: every request fails until set back. */
  down: boolean;
  close(): Promise<void>;
}

/** A webhook receiver that refuses about `rate` of the requests (500, 503, 429) and all of them while down. */
export async function startChaosReceiver(secret: string, random: () => number, rate: number, fault: FaultSwitch): Promise<ChaosReceiver> {
  const verifier = new Webhook(secret);
  const state: ChaosReceiver = {
    url: '',
    accepted: [],
    requests: 0,
    faults: 0,
    badSignatures: 0,
    down: false,
    close: async () => undefined,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(req.headers[name] ?? '');
      if (fault.faulty && (state.down || random() < rate)) {
        state.faults++;
        const r = random();
        const status = r < 0.45 ? 500 : r < 0.9 ? 503 : 429;
        res.writeHead(status, status === 429 ? { 'Retry-After': '30' } : {});
        res.end();
        return;
      }
      // The signature over id.timestamp.body, computed by the library (not by our own code). The
      // timestamp is the sender's simulated time, so the library's freshness check cannot apply.
      const id = header('webhook-id');
      const expected = verifier.sign(id, new Date(Number(header('webhook-timestamp')) * 1000), body);
      if (!header('webhook-signature').split(' ').includes(expected)) {
        state.badSignatures++;
        res.writeHead(401);
        res.end();
        return;
      }
      const parsed = JSON.parse(body) as { type: string; data: { id?: string; revision?: number; findingIds?: string[] } };
      const incident = parsed.type.startsWith('incident.') && parsed.type !== 'incident.digest';
      state.accepted.push({
        id,
        type: parsed.type,
        body,
        incidentId: incident ? (parsed.data.id ?? null) : null,
        revision: incident ? (parsed.data.revision ?? null) : null,
        findingIds: incident ? (parsed.data.findingIds ?? []) : [],
      });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * Figure 1, the pipeline ratio: on a synthetic Graph answer of 100,000 rows serialised to text,
 * (normalise + suppress + group into incidents + build notifications) / JSON.parse of that text,
 * both timed in the same process. Each sample is one fresh child process (memoryChild.ts, which
 * also gives figure 3) that warms up on a small answer, then parses and runs the pipeline once.
 *
 * The pipeline is the hunt cycle's CPU work between "Graph answered" and "messages go to the
 * queue", called as cycle.ts and huntRuntime.ts call it: the Graph client's answer check
 * (normaliseHuntingResults), normaliseResults, de-duplication by id, compileAllowlist + suppress,
 * buildIncidents on the live findings, routeAnnouncements to the channels (a Teams channel gets
 * one digest above the threshold, a webhook every incident) and buildTeamsPayload for every
 * Teams message. The queue encoding of the messages (NotificationQueue.enqueue) is timed too
 * but reported outside the ratio, since the issue does not count it.
 */
import type { AllowlistEntry } from '../shared/allowlist/entry';
import { compileAllowlist, suppress } from '../shared/allowlist/matcher';
import { dedupeFindings } from '../shared/hunt/cycle';
import { normaliseHuntingResults } from '../shared/hunting/graphClient';
import { normaliseResults } from '../shared/normalise/normalise';
import { buildIncidents } from '../shared/incidents/build';
import type { Channel } from '../shared/notify/channels';
import { routeAnnouncements } from '../shared/notify/channels';
import { encodeQueueMessage, type Announcement, type NotificationMessage } from '../shared/notify/message';
import { buildTeamsPayload } from '../shared/notify/teamsCard';
import { fmt, now, spread, type BenchSection, type MetricRow } from './common';
import { BENCH_NOW, BENCH_TENANT, DIGEST_THRESHOLD, WINDOW_END, WINDOW_MS, benchBuildContext, benchChannels, benchRule } from './fixtures';
import { generateResponse, realisticAllowlist, type SyntheticPools } from './synthetic';

/** Issue #13: the whole pipeline at most 3x JSON.parse of the same answer. */
export const PIPELINE_TARGET = 3;
/** Issue #13: the incident stage (stories, scoring, links) at most 1x JSON.parse of the same answer. */
export const INCIDENT_STAGE_TARGET = 1;

export interface PipelineInput {
  allowlist: AllowlistEntry[];
  channels: Channel[];
}

export interface StageTimes {
  answerCheck: number;
  normalise: number;
  dedupe: number;
  allowlistCompile: number;
  suppress: number;
  incidents: number;
  route: number;
  teamsPayloads: number;
}

export interface PipelineCounts {
  rows: number;
  findings: number;
  rejected: number;
  suppressed: number;
  incidents: number;
  chainIncidents: number;
  messages: number;
  teamsMessages: number;
  teamsPayloadBytes: number;
}

export interface PipelineOutcome {
  ms: number;
  stages: StageTimes;
  counts: PipelineCounts;
  messages: NotificationMessage[];
}

/** The pipeline on an already parsed answer (the profiler reuses it). */
export function runPipeline(parsed: unknown, input: PipelineInput): PipelineOutcome {
  const rule = benchRule();
  const stages: StageTimes = { answerCheck: 0, normalise: 0, dedupe: 0, allowlistCompile: 0, suppress: 0, incidents: 0, route: 0, teamsPayloads: 0 };
  const started = now();
  let t = started;
  const lap = (stage: keyof StageTimes): void => {
    const at = now();
    stages[stage] += at - t;
    t = at;
  };

  const answer = normaliseHuntingResults(parsed);
  lap('answerCheck');
  const normalised = normaliseResults(answer, { ruleId: rule.id, defaultSeverity: rule.severity });
  lap('normalise');
  const { unique } = dedupeFindings(normalised.findings, new Set<string>());
  lap('dedupe');
  const matcher = compileAllowlist(input.allowlist, BENCH_NOW);
  lap('allowlistCompile');
  const suppressed = suppress(unique, matcher, BENCH_TENANT, BENCH_NOW);
  lap('suppress');
  const live = suppressed.findings.filter((f) => f.suppressedBy === null);
  const incidents = buildIncidents(live, benchBuildContext());
  lap('incidents');
  const announcements: Announcement[] = incidents.map((incident) => ({
    kind: 'incident',
    event: 'created',
    incident: { ...incident, revision: 1 },
    mintedAt: BENCH_NOW.toISOString(),
  }));
  const messages = routeAnnouncements(announcements, input.channels, { digestThreshold: DIGEST_THRESHOLD });
  lap('route');
  const teamsIds = new Set(input.channels.filter((c) => c.type === 'teams').map((c) => c.id));
  let teamsMessages = 0;
  let teamsPayloadBytes = 0;
  for (const message of messages) {
    if (!teamsIds.has(message.channelId)) continue;
    teamsMessages++;
    teamsPayloadBytes += buildTeamsPayload(message).bytes;
  }
  lap('teamsPayloads');
  return {
    ms: t - started,
    stages,
    counts: {
      rows: answer.results.length,
      findings: unique.length,
      rejected: normalised.rejected.length,
      suppressed: unique.length - live.length,
      incidents: incidents.length,
      chainIncidents: incidents.filter((i) => i.chain).length,
      messages: messages.length,
      teamsMessages,
      teamsPayloadBytes,
    },
    messages,
  };
}

/** Base64 JSON of every message, as NotificationQueue.enqueue does before sendMessage. */
export function encodeForQueue(messages: readonly NotificationMessage[]): { ms: number; chars: number } {
  const started = now();
  let chars = 0;
  for (const message of messages) chars += encodeQueueMessage(message).length;
  return { ms: now() - started, chars };
}

export interface SyntheticAnswer {
  text: string;
  bytes: number;
  rows: number;
  pools: SyntheticPools;
  generateMs: number;
}

export function syntheticAnswer(rows: number, devices: number): SyntheticAnswer {
  const started = now();
  const generated = generateResponse({ rows, devices, windowEnd: WINDOW_END, windowMs: WINDOW_MS });
  const text = JSON.stringify(generated.response);
  return { text, bytes: Buffer.byteLength(text, 'utf8'), rows, pools: generated.pools, generateMs: now() - started };
}

export function pipelineInput(pools: SyntheticPools): PipelineInput {
  return { allowlist: realisticAllowlist(pools, BENCH_NOW, BENCH_TENANT), channels: benchChannels() };
}

/** One measured cycle (from a child process: see memory.ts and memoryChild.ts). */
export interface CycleSample {
  parseMs: number;
  parseSamplesMs: number[];
  pipelineMs: number;
  stages: StageTimes;
  counts: PipelineCounts;
  queueEncodeMs: number | null;
  profiled: boolean;
}

export interface PipelineRaw {
  rows: number;
  devices: number;
  responseBytes: number;
  allowlistEntries: number;
  repetitions: number;
  parseMs: number[];
  parseSamplesMs: number[][];
  pipelineMs: number[];
  ratios: number[];
  stages: StageTimes[];
  counts: PipelineCounts | null;
  queueEncodeMs: number[];
}

/** The ratio and stage rows from the measured cycles. */
export function pipelineSection(samples: readonly CycleSample[], meta: { rows: number; devices: number; responseBytes: number; allowlistEntries: number }): BenchSection<PipelineRaw> {
  const raw: PipelineRaw = {
    ...meta,
    repetitions: samples.length,
    parseMs: samples.map((s) => s.parseMs),
    parseSamplesMs: samples.map((s) => s.parseSamplesMs),
    pipelineMs: samples.map((s) => s.pipelineMs),
    ratios: samples.map((s) => s.pipelineMs / s.parseMs),
    stages: samples.map((s) => s.stages),
    counts: samples[0]?.counts ?? null,
    queueEncodeMs: samples.flatMap((s) => (s.queueEncodeMs === null ? [] : [s.queueEncodeMs])),
  };
  const ratio = spread(raw.ratios);
  const parse = spread(raw.parseMs);
  const incidentRatio = spread(samples.map((s) => s.stages.incidents / s.parseMs));
  const rows: MetricRow[] = [
    {
      id: 'pipeline.ratio',
      metric: `pipeline / JSON.parse (${meta.rows.toLocaleString('en-US')} rows, ${fmt(meta.responseBytes / 2 ** 20, 1)} MB)`,
      value: ratio.median,
      unit: 'x',
      spread: ratio,
      target: `<= ${PIPELINE_TARGET}`,
      pass: ratio.median <= PIPELINE_TARGET,
      note: `n=${samples.length}`,
    },
    {
      id: 'pipeline.incidentStageRatio',
      metric: 'incident stage (stories, scoring, links) / JSON.parse',
      value: incidentRatio.median,
      unit: 'x',
      spread: incidentRatio,
      target: `<= ${INCIDENT_STAGE_TARGET}`,
      pass: incidentRatio.median <= INCIDENT_STAGE_TARGET,
      note: `n=${samples.length}`,
    },
    { id: 'pipeline.parseMs', metric: '  JSON.parse alone', value: parse.median, unit: 'ms', spread: parse, target: '-', pass: null, note: 'per cycle: median of 3 parses' },
    { id: 'pipeline.pipelineMs', metric: '  pipeline, all stages', value: spread(raw.pipelineMs).median, unit: 'ms', spread: spread(raw.pipelineMs), target: '-', pass: null },
  ];
  const stageNames = Object.keys(raw.stages[0] ?? {}) as (keyof StageTimes)[];
  for (const stage of stageNames) {
    const s = spread(raw.stages.map((x) => x[stage]));
    rows.push({ id: `pipeline.stage.${stage}`, metric: `    ${STAGE_LABELS[stage]}`, value: s.median, unit: 'ms', spread: s, target: '-', pass: null, note: `${fmt(s.median / parse.median)}x parse` });
  }
  const encode = spread(raw.queueEncodeMs);
  rows.push({
    id: 'pipeline.queueEncodeMs',
    metric: '  not in ratio: queue encoding of the messages',
    value: encode.median,
    unit: 'ms',
    spread: encode,
    target: '-',
    pass: null,
    note: `${fmt(encode.median / parse.median)}x parse`,
  });
  const c = raw.counts;
  const notes: string[] = [];
  if (c) {
    notes.push(
      `pipeline data: ${c.rows} rows -> ${c.findings} findings (${c.rejected} rejected), ${c.suppressed} suppressed by ${meta.allowlistEntries} allowlist entries, ` +
        `${c.incidents} incidents (${c.chainIncidents} chains), ${c.messages} messages (${c.teamsMessages} to Teams, ${c.teamsPayloadBytes} payload bytes)`,
    );
  }
  if (samples.some((s) => s.profiled)) notes.push('pipeline: one sample ran under the sampling profiler (1 ms interval); its overhead is within the spread');
  return { rows, raw, notes };
}

const STAGE_LABELS: Record<keyof StageTimes, string> = {
  answerCheck: 'answer check (normaliseHuntingResults)',
  normalise: 'normalise (normaliseResults)',
  dedupe: 'de-duplicate by id',
  allowlistCompile: 'compileAllowlist',
  suppress: 'suppress',
  incidents: 'incident stage: buildIncidents (stories, scoring, links)',
  route: 'routeAnnouncements',
  teamsPayloads: 'buildTeamsPayload (Teams messages)',
};

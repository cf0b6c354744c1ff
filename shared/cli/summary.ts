/**
 * The demo's readable summary: what was hunted, what was found, what the allowlist hid and why,
 * which incidents were raised with their reasons, and where the payloads were written.
 */
import { formatTimelineLine, storyTimeline } from '../enrich/timeline';
import type { RunRecord } from '../hunt/runRecord';
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import type { Announcement } from '../notify/message';
import type { DrainSummary } from '../notify/queue';

export interface DemoSummaryInput {
  records: RunRecord[];
  findings: Finding[];
  announcements: Announcement[];
  /** Every incident the cycles built, whole (as collected by IncidentCollector). */
  incidents: Incident[];
  seeded: string[];
  drained: DrainSummary | null;
  outDir: string;
  previewPath: string;
  graphRequests: number;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
}

export function formatDemoSummary(input: DemoSummaryInput): string {
  const lines: string[] = ['codesign-hunt demo: one hunt cycle on the embedded default', ''];
  for (const run of input.records) {
    lines.push(`Rule ${run.ruleId}: ${run.outcome} (run ${run.runId})`);
    lines.push(`  windows (ingestion time): ${run.windows.map((w) => `${w.start} .. ${w.end} (${w.rows} rows)`).join('; ') || 'none (nothing new to hunt)'}`);
    lines.push(`  checkpoint: ${run.checkpointBefore ?? 'none'} -> ${run.checkpointAfter ?? 'none'}`);
    lines.push(
      `  rows ${run.counts.rows}, findings ${run.counts.findings}, rejected rows ${run.counts.rejectedRows}, duplicates removed ${run.counts.duplicatesRemoved}, ` +
        `suppressed ${run.counts.suppressed}, new incidents ${run.counts.incidentsNew}, updated ${run.counts.incidentsUpdated}, notifications ${run.counts.notificationsEnqueued}`,
    );
    for (const message of run.messages) lines.push(`  note: ${message}`);
    if (run.error) lines.push(`  error: ${run.error}`);
  }
  lines.push('');
  if (input.findings.length > 0) {
    lines.push(`Findings by branch: ${countBy(input.findings, (f) => f.branch)}`);
    lines.push(`Findings by action: ${countBy(input.findings, (f) => f.action)}`);
  }
  const suppressed = input.findings.filter((f) => f.suppressedBy !== null);
  if (input.seeded.length > 0) lines.push(`Allowlist seeded: ${input.seeded.join(', ')}`);
  lines.push(`Suppressed by the allowlist: ${suppressed.length}${suppressed.length ? ` (${countBy(suppressed, (f) => f.suppressedBy ?? '')})` : ''}`);
  for (const f of suppressed.slice(0, 10)) {
    lines.push(`  - ${f.device.name}: ${f.tool} ${f.action} ${f.certificate.subject ?? f.signedFile ?? ''} -> ${f.suppressedBy}`);
  }
  lines.push('');
  const incidents = input.announcements.filter((a): a is Extract<Announcement, { kind: 'incident' }> => a.kind === 'incident');
  lines.push(`Incidents announced: ${incidents.length}`);
  // One incident per story, told whole: later steps of a story may still wait for the update
  // interval (they are announced by a later cycle), but they are part of its incident already.
  const live = input.findings.filter((f) => f.suppressedBy === null).length;
  lines.push(`Stories: ${input.incidents.length} incident(s) from ${live} finding(s), each with its timeline`);
  const order = ['high', 'medium', 'low', 'informational'];
  const sorted = [...input.incidents].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity) || a.firstSeen.localeCompare(b.firstSeen));
  for (const incident of sorted) {
    lines.push(...incidentLines(incident, `  `));
    for (const reason of incident.reasons.slice(0, 6)) lines.push(`      ${reason.severityDelta > 0 ? '+' : reason.severityDelta < 0 ? '-' : '·'} ${reason.text}`);
  }
  lines.push('');
  if (input.drained) {
    lines.push(`Delivered: ${input.drained.handled} notification(s), failed ${input.drained.failed}, poisoned ${input.drained.poisoned}`);
  }
  lines.push(`Graph requests served by the local Graph server: ${input.graphRequests}`);
  lines.push(`Output: ${input.outDir}`);
  lines.push(`  findings.jsonl, incidents.jsonl, runs.json, summary.txt, notifications/teams/*.json, notifications/webhooks/*.json`);
  lines.push(`  card preview: ${input.previewPath}`);
  return `${lines.join('\n')}\n`;
}

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** One incident as text: headline, then its story as a timeline (the demo summary and `replay`). */
export function incidentLines(incident: Incident, indent = '  '): string[] {
  const out = [
    `${indent}[${incident.severity.toUpperCase()}/${incident.confidence}] ${incident.title}${incident.chain ? ' (chain)' : ''}, ${incident.findingCount} finding(s)`,
    `${indent}    ${incident.id} · ${time(incident.firstSeen)} to ${time(incident.lastSeen)}` +
      // `story` is absent from incidents made before stories (a stored announcement).
      (incident.story?.previousIncidentId ? ` · seen before on this device: ${incident.story.previousIncidentId}` : ''),
  ];
  const timeline = storyTimeline(incident.findings, { totalSteps: incident.findingCount });
  for (const line of timeline.lines) out.push(`${indent}    ${formatTimelineLine(line)}`);
  if (timeline.moreSteps > 0) out.push(`${indent}    and ${timeline.moreSteps} more step(s)`);
  return out;
}

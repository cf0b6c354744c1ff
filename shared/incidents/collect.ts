/**
 * Collecting the incidents a run of hunt cycles builds (`replay`, the demo summary): a story is
 * built again each cycle that sees one of its findings, so the same incident id comes by several
 * times. Kept per id: the latest build, and every finding it ever held, so the story can be told
 * whole at the end even when the store announced it in pieces (held-back updates). Pure.
 */
import { SEVERITIES, type Finding } from '../model/finding';
import { CONFIDENCES, type Incident } from '../model/incident';
import { sortFindings } from './order';

interface Collected {
  incident: Incident;
  findings: Map<string, Finding>;
  findingIds: Set<string>;
  severity: Incident['severity'];
  confidence: Incident['confidence'];
  chain: boolean;
}

function maxOf<T extends string>(scale: readonly T[], a: T, b: T): T {
  return scale.indexOf(a) >= scale.indexOf(b) ? a : b;
}

export class IncidentCollector {
  private readonly byId = new Map<string, Collected>();

  add(incidents: readonly Incident[]): void {
    for (const incident of incidents) {
      const entry = this.byId.get(incident.id);
      if (!entry) {
        this.byId.set(incident.id, {
          incident,
          findings: new Map(incident.findings.map((f) => [f.id, f])),
          findingIds: new Set(incident.findingIds),
          severity: incident.severity,
          confidence: incident.confidence,
          chain: incident.chain,
        });
        continue;
      }
      entry.incident = incident;
      for (const f of incident.findings) entry.findings.set(f.id, f);
      for (const id of incident.findingIds) entry.findingIds.add(id);
      // As the store does: severity, confidence and the chain never go down.
      entry.severity = maxOf(SEVERITIES, entry.severity, incident.severity);
      entry.confidence = maxOf(CONFIDENCES, entry.confidence, incident.confidence);
      entry.chain ||= incident.chain;
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** One incident per story, with every finding it held, ordered by first seen, then id. */
  incidents(): Incident[] {
    const out = [...this.byId.values()].map((e): Incident => {
      const findings = sortFindings([...e.findings.values()]);
      const first = findings[0]?.timestamp;
      const last = findings[findings.length - 1]?.timestamp;
      return {
        ...e.incident,
        severity: e.severity,
        confidence: e.confidence,
        chain: e.chain,
        firstSeen: first !== undefined && first < e.incident.firstSeen ? new Date(Date.parse(first)).toISOString() : e.incident.firstSeen,
        lastSeen: last !== undefined && new Date(Date.parse(last)).toISOString() > e.incident.lastSeen ? new Date(Date.parse(last)).toISOString() : e.incident.lastSeen,
        findingIds: [...e.findingIds],
        findingCount: Math.max(e.findingIds.size, e.incident.findingCount),
        findings,
      };
    });
    return out.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
  }
}

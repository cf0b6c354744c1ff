/**
 * The narrowest entry that covers an incident, proposed on the page's "new from an incident" form:
 * the signer (thumbprint when the incident's findings share one, else the exact subject, else the
 * exact key file) pinned to the incident's device, plus its parent process and branch when all of
 * its findings share them, scoped to the incident's tenant. Never a subject or file pattern alone.
 */
import type { RecentFinding } from '../breadth';
import type { AllowlistConditions, AllowlistScope } from '../entry';
import { validateConditions } from '../entry';
import type { Finding } from '../../model/finding';

export interface IncidentSummary {
  id: string;
  tenantId: string;
  severity: string | null;
  chain: boolean;
  device: string;
  subject: string | null;
  thumbprint: string | null;
  findings: number;
  firstSeen: string;
  lastSeen: string;
}

export interface Proposal {
  incident: IncidentSummary;
  conditions: AllowlistConditions;
  scope: AllowlistScope;
  /** Why the proposal is what it is, for the reader. */
  notes: string[];
}

/** The one value all items share, or null. */
function shared<T>(items: readonly T[], pick: (item: T) => string | null | undefined): string | null {
  let value: string | null = null;
  for (const item of items) {
    const v = pick(item);
    if (!v) return null;
    if (value === null) value = v;
    else if (v.toLowerCase() !== value.toLowerCase()) return null;
  }
  return value;
}

/**
 * The one value the items that name one share, or null: an incident is a story, whose steps name
 * the certificate in different ways (the creation its subject, the export its thumbprint, the
 * signing its PFX file), so a step that names none does not veto the others.
 */
function sharedWhereNamed<T>(items: readonly T[], pick: (item: T) => string | null | undefined): string | null {
  const named = items.filter((item) => Boolean(pick(item)));
  return named.length === 0 ? null : shared(named, pick);
}

/**
 * When the steps of a story share no thumbprint, subject or file (a story that made more than one
 * certificate): the first creation step that names a thumbprint, or a subject an entry may name
 * (findings in time order). The reader edits the proposal; one certificate of the story is the
 * narrow choice.
 */
function firstCreatedSigner(findings: readonly Finding[]): { subject: string | null; thumbprint: string | null } | null {
  const usable = (f: Finding): boolean =>
    Boolean(f.certificate.thumbprint && /^[0-9a-fA-F]+$/.test(f.certificate.thumbprint)) ||
    Boolean(f.certificate.subject && validateConditions({ signerSubject: literal(f.certificate.subject), deviceName: 'x' }).ok);
  const creation = findings.find((f) => (f.action === 'create-cert' || f.action === 'export-pfx') && usable(f));
  return creation ? { subject: creation.certificate.subject || null, thumbprint: creation.certificate.thumbprint || null } : null;
}

/** A literal for a glob condition: `*` and `?` in telemetry become `?` (one character). */
function literal(value: string): string {
  return value.replace(/[*?]/g, '?');
}

export function proposeEntry(incidentId: string, findings: readonly RecentFinding[]): Proposal | null {
  const mine = findings.filter((r) => r.incident?.id === incidentId);
  const first = mine[0];
  if (!first) return null;
  const f = mine.map((r) => r.finding).sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  const times = f.map((x) => x.timestamp).sort();
  const incident: IncidentSummary = {
    id: incidentId,
    tenantId: first.tenantId,
    severity: first.incident?.severity ?? null,
    chain: mine.some((r) => r.incident?.chain === true),
    device: first.finding.device.name,
    subject: sharedWhereNamed(f, (x) => x.certificate.subject),
    thumbprint: sharedWhereNamed(f, (x) => x.certificate.thumbprint),
    findings: mine.length,
    firstSeen: times[0] ?? '',
    lastSeen: times[times.length - 1] ?? '',
  };
  const notes: string[] = [];
  const conditions: AllowlistConditions = {};
  const file = sharedWhereNamed(f, (x) => (x.certificate.files.length === 1 ? x.certificate.files[0] : null));
  if (!incident.thumbprint && !incident.subject && !file) {
    const created = firstCreatedSigner(f);
    if (created) Object.assign(incident, created);
  }
  if (incident.thumbprint && /^[0-9a-fA-F]+$/.test(incident.thumbprint)) {
    conditions.thumbprint = incident.thumbprint;
    notes.push('The certificate thumbprint identifies this exact certificate.');
  } else if (incident.subject && validateConditions({ signerSubject: literal(incident.subject), deviceName: 'x' }).ok) {
    conditions.signerSubject = literal(incident.subject);
    notes.push('No thumbprint was seen, so the exact subject is used; anyone can choose a subject, so the entry is pinned to the device.');
  } else if (file) {
    conditions.certificateFile = literal(file);
    notes.push('Neither thumbprint nor a usable subject was seen, so the exact certificate file is used.');
  }
  const device = shared(f, (x) => x.device.name);
  if (device) conditions.deviceName = literal(device);
  const parent = shared(f, (x) => x.parent.fileName);
  if (parent) conditions.parentProcess = literal(parent);
  const branch = shared(f, (x) => x.branch);
  if (branch) conditions.branch = branch;
  notes.push('Device, parent process and branch narrow it to where this incident happened; remove one only if the same benign activity happens elsewhere.');
  return { incident, conditions, scope: { tenantId: first.tenantId }, notes };
}

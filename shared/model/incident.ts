/**
 * The Incident: what the on-call engineer acts on. Unsuppressed findings group into incidents by
 * device + signer identity + detection branch inside a grouping window; the id is a stable hash
 * of that key so re-runs and overlapping windows update the same incident. A certificate
 * creation followed on the same device by signing or a trust-store import becomes one escalated
 * "chain" incident (T1587.002 leading to T1553.002). The Incident is also the webhook payload.
 */
import type { Branch, Finding, Severity } from './finding';

/** 1.1 added `revision`. */
export const INCIDENT_SCHEMA_VERSION = '1.1';

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];
export const INCIDENT_STATUSES = ['new', 'updated', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** One reason that raised or lowered severity or confidence, shown to the reader. */
export interface ScoreReason {
  code: string;
  /** Human sentence, no markup. */
  text: string;
  /** Effect on the severity score (+1 raises one level, -1 lowers one). */
  severityDelta: number;
  confidenceDelta: number;
}

export interface AttackTechnique {
  id: string;
  name: string;
  url: string;
}

export interface IncidentLinks {
  device: string | null;
  huntingQuery: string | null;
  /** Prefilled allowlist request for this signer (API or page). */
  allowlistSigner: string | null;
}

/** How a chain incident joined the creation step to the use step (signing or trust-store import). */
export type ChainLinkBasis = 'subject' | 'thumbprint' | 'file' | 'device-time';

export interface ChainLink {
  /** The strongest evidence that joined the steps; `device-time` = same device, use after creation. */
  linkedBy: ChainLinkBasis;
  /** Findings of the creation side: create-cert / export-pfx, and conversions of the same key files. */
  createdFindingIds: string[];
  /** Findings of the use step (sign / trust-store import) linked to a creation. */
  usedFindingIds: string[];
  /**
   * Ids the absorbed groups would have had on their own. The store records them as aliases of
   * this incident, so a later window that only sees the use step updates this incident instead of
   * opening a second one.
   */
  mergedIncidentIds: string[];
}

export interface Incident {
  schemaVersion: typeof INCIDENT_SCHEMA_VERSION;
  /** Stable hash of tenant + rule + grouping key + grouping window start. */
  id: string;
  tenantId: string;
  ruleId: string;
  title: string;
  /** True when creation was followed by signing or a trust-store import on the same device. */
  chain: boolean;
  branch: Branch;
  device: { id: string | null; name: string };
  accounts: string[];
  signer: { subject: string | null; thumbprint: string | null; file: string | null };
  firstSeen: string;
  lastSeen: string;
  /**
   * Distinct findings ever grouped into this incident. On a store announcement this is the stored
   * total, which can exceed `findings` (evidence of this cycle) and `findingIds` (bounded list).
   */
  findingCount: number;
  findingIds: string[];
  /**
   * Which announcement of this incident this is: 1 for `created`, one more for each update. Minted
   * and stored with the incident before the notification is enqueued (shared/incidents/store.ts),
   * so a re-send after a crash carries the same revision and body. Receivers keep the highest
   * revision they have seen; an older one arriving late is stale. 0 on an incident that was built
   * but never announced (`replay`, `explain`).
   */
  revision: number;
  severity: Severity;
  confidence: Confidence;
  reasons: ScoreReason[];
  attack: AttackTechnique[];
  falsePositiveHints: string[];
  links: IncidentLinks;
  status: IncidentStatus;
  /** The grouping window (epoch-aligned) of the incident's primary group: [start, end). */
  window: { start: string; end: string };
  /** Present on chain incidents (`chain: true`), null otherwise. */
  chainLink: ChainLink | null;
  /** Evidence: the findings themselves (the card shows a few; the webhook carries all). */
  findings: Finding[];
}

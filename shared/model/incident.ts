/**
 * The Incident: what the on-call engineer acts on. One incident per story: one actor's related
 * certificate activity on one device within a short period (shared/incidents/stories.ts). Its id
 * is fixed when the story starts, so later findings of the story, re-runs and overlapping windows
 * update the same incident. A certificate creation followed in the story by signing or a
 * trust-store import makes it an escalated "chain" (T1587.002 leading to T1553.002). The Incident
 * is also the webhook payload.
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
   * Other incident ids this one speaks for; the store records them as aliases. Stories hold the
   * creation and its use from the start, so this is empty for incidents made since; the store
   * still honours aliases written by earlier versions.
   */
  mergedIncidentIds: string[];
}

/** What the story adds up to, beyond its evidence. */
export interface IncidentStory {
  /** The actor (`domain\\name`, lower-cased; `?` when Defender named none). */
  actor: string;
  /** Distinct certificate, key and signed files the story touched, and up to 50 of their names. */
  fileCount: number;
  files: string[];
  /**
   * The same device and actor's previous incident, when this story started after that one ended
   * (past the grouping window or the story's longest span): "seen before on this device".
   */
  previousIncidentId: string | null;
}

export interface Incident {
  schemaVersion: typeof INCIDENT_SCHEMA_VERSION;
  /** Stable hash of tenant + device + actor + the story's first finding (shared/incidents/stories.ts). */
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
  /** While the story is open: from its first step to the grouping window after its last: [start, end). */
  window: { start: string; end: string };
  /** Present on chain incidents (`chain: true`), null otherwise. */
  chainLink: ChainLink | null;
  story: IncidentStory;
  /** Evidence: the findings themselves (the card shows a few; the webhook carries all). */
  findings: Finding[];
}

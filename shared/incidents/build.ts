/**
 * Findings -> incidents: group unsuppressed findings, merge create-then-use chains, then score,
 * title, link and attach hints and ATT&CK techniques. The one entry point the hunt cycle calls
 * before the incidents store. Pure: `now` comes from the caller.
 */
import type { Finding } from '../model/finding';
import { INCIDENT_SCHEMA_VERSION, type Incident } from '../model/incident';
import { attackFor } from '../enrich/attack';
import { falsePositiveHints } from '../enrich/hints';
import { incidentLinks } from '../enrich/links';
import type { RuleContext } from '../enrich/rule-context';
import { scoreIncident } from '../enrich/score';
import { incidentTitle } from '../enrich/title';
import { chainRole, DEFAULT_CHAIN_WINDOW_MS, linkChains, type IncidentDraft } from './chains';
import { DEFAULT_GROUPING_WINDOW_MS, findingTime, groupFindings } from './group';

/** Context before and after the incident that the hunting deep link also shows. */
export const DEFAULT_HUNTING_LINK_PADDING_MS = 60 * 60 * 1000;

export interface BuildContext {
  tenantId: string;
  rule: RuleContext;
  now: Date;
  groupingWindowMs?: number;
  chainWindowMs?: number;
  /** Base of the allowlist API/page; no allowlist link when unset. */
  allowlistBaseUrl?: string | null;
  /** Defender portal origin (sovereign clouds differ); https://security.microsoft.com by default. */
  portalBaseUrl?: string;
  huntingLinkPaddingMs?: number;
}

function firstKnown<T>(values: readonly (T | null | undefined)[]): T | null {
  for (const v of values) if (v !== null && v !== undefined && (typeof v !== 'string' || v.trim() !== '')) return v;
  return null;
}

function accountOf(f: Finding): string | null {
  if (!f.account.name) return null;
  return f.account.domain ? `${f.account.domain}\\${f.account.name}` : f.account.name;
}

/**
 * The signer to show and allowlist: from the creation step on a chain (what was minted), else
 * from the primary group, else from any finding.
 */
function signerOf(draft: IncidentDraft): Incident['signer'] {
  const created = draft.chainLink ? draft.findings.filter((f) => chainRole(f) === 'create') : [];
  const order = [...created, ...draft.primary.findings, ...draft.findings];
  return {
    subject: firstKnown(order.map((f) => f.certificate.subject)),
    thumbprint: firstKnown(order.map((f) => f.certificate.thumbprint)),
    file: firstKnown(order.map((f) => f.certificate.files[0])),
  };
}

function toIncident(draft: IncidentDraft, ctx: BuildContext): Incident {
  const { primary, findings } = draft;
  const first = findings[0];
  const last = findings[findings.length - 1];
  if (!first || !last) throw new Error(`group ${primary.incidentId} has no findings`);
  const chain = draft.chainLink !== null;
  const deviceSource = primary.findings.find((f) => f.device.id) ?? primary.findings[0] ?? first;
  const device = { id: deviceSource.device.id, name: deviceSource.device.name };
  const signer = signerOf(draft);
  const score = scoreIncident(findings, ctx.rule, { chain });

  const padding = ctx.huntingLinkPaddingMs ?? DEFAULT_HUNTING_LINK_PADDING_MS;
  const lastMs = findingTime(last);
  const linkWindow = {
    start: new Date(findingTime(first) - padding),
    // A window ending in the future is legal but odd in the portal; stop at "now".
    end: new Date(Math.max(lastMs, Math.min(lastMs + padding, ctx.now.getTime()))),
  };

  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    id: primary.incidentId,
    tenantId: primary.tenantId,
    ruleId: primary.ruleId,
    title: incidentTitle({ findings, chain, signer, deviceName: device.name }),
    chain,
    branch: primary.branch,
    device,
    accounts: [...new Set(findings.map(accountOf).filter((a): a is string => a !== null))],
    signer,
    firstSeen: new Date(findingTime(first)).toISOString(),
    lastSeen: new Date(lastMs).toISOString(),
    findingCount: findings.length,
    findingIds: findings.map((f) => f.id),
    // The store mints the revision when it announces the incident.
    revision: 0,
    severity: score.severity,
    confidence: score.confidence,
    reasons: score.reasons,
    attack: attackFor(findings, ctx.rule),
    falsePositiveHints: falsePositiveHints(findings, ctx.rule.falsePositives),
    links: incidentLinks({
      ruleId: primary.ruleId,
      incidentId: primary.incidentId,
      query: ctx.rule.query,
      deviceId: device.id,
      window: linkWindow,
      signer,
      ...(ctx.portalBaseUrl !== undefined ? { portalBaseUrl: ctx.portalBaseUrl } : {}),
      allowlistBaseUrl: ctx.allowlistBaseUrl ?? null,
    }),
    status: 'new',
    window: { start: new Date(primary.windowStart).toISOString(), end: new Date(primary.windowEnd).toISOString() },
    chainLink: draft.chainLink,
    findings,
  };
}

export function buildIncidents(findings: readonly Finding[], ctx: BuildContext): Incident[] {
  const groups = groupFindings(findings, {
    tenantId: ctx.tenantId,
    groupingWindowMs: ctx.groupingWindowMs ?? DEFAULT_GROUPING_WINDOW_MS,
  });
  const drafts = linkChains(groups, { chainWindowMs: ctx.chainWindowMs ?? DEFAULT_CHAIN_WINDOW_MS });
  return drafts.map((draft) => toIncident(draft, ctx));
}

/**
 * Stories -> incidents: each story (stories.ts) becomes one Incident, scored over all its
 * findings, with its chain (creation then use), title, links, hints and ATT&CK techniques. The
 * hunt cycle's incident step (pipeline.ts) passes the stories it assembled with the story memory;
 * `buildIncidents` assembles them from one batch alone (tests, the benchmark). Pure: `now` comes
 * from the caller.
 */
import type { Finding } from '../model/finding';
import { INCIDENT_SCHEMA_VERSION, type Incident } from '../model/incident';
import { attackFor } from '../enrich/attack';
import { falsePositiveHints } from '../enrich/hints';
import { incidentLinks } from '../enrich/links';
import type { RuleContext } from '../enrich/rule-context';
import { scoreIncident } from '../enrich/score';
import { incidentTitle } from '../enrich/title';
import { chainRole, DEFAULT_CHAIN_WINDOW_MS, storyChain } from './chains';
import { findingTime } from './order';
import { assembleStories, storyParams, type StoryDraft, type StoryParams } from './stories';

/** Context before and after the incident that the hunting deep link also shows. */
export const DEFAULT_HUNTING_LINK_PADDING_MS = 60 * 60 * 1000;

export interface BuildContext {
  tenantId: string;
  /** The rule whose cycle builds; also the context of stories of a rule missing from `rules`. */
  rule: RuleContext;
  /** Every rule's context by id: a story keeps the rule of the incident partition it started in. */
  rules?: ReadonlyMap<string, RuleContext>;
  now: Date;
  /** Story grouping parameters (defaults: stories.ts). */
  story?: Partial<StoryParams>;
  chainWindowMs?: number;
  /** Base of the allowlist API/page; no allowlist link when unset. */
  allowlistBaseUrl?: string | null;
  /** Defender portal origin (sovereign clouds differ); https://security.microsoft.com by default. */
  portalBaseUrl?: string;
  huntingLinkPaddingMs?: number;
}

/** The first value `read` gives for the findings that is present and not blank. */
function firstKnown<T>(findings: readonly Finding[], read: (f: Finding) => T | null | undefined): T | null {
  for (const f of findings) {
    const v = read(f);
    if (v !== null && v !== undefined && (typeof v !== 'string' || v.trim() !== '')) return v;
  }
  return null;
}

/** `domain\\name` of each distinct account, first seen first (a story has one actor, rarely more spellings). */
function distinctAccounts(findings: readonly Finding[]): string[] {
  const out: string[] = [];
  let lastName: string | null = null;
  let lastDomain: string | null = null;
  for (const f of findings) {
    const { name, domain } = f.account;
    if (!name || (name === lastName && domain === lastDomain)) continue;
    lastName = name;
    lastDomain = domain;
    const account = domain ? `${domain}\\${name}` : name;
    if (!out.includes(account)) out.push(account);
  }
  return out;
}

/** The signer to show and allowlist: what the creation steps minted, else what any step names. */
function signerOf(findings: readonly Finding[], creations: readonly Finding[]): Incident['signer'] {
  const pick = (read: (f: Finding) => string | null | undefined): string | null => firstKnown(creations, read) ?? firstKnown(findings, read);
  return {
    subject: pick((f) => f.certificate.subject),
    thumbprint: pick((f) => f.certificate.thumbprint),
    file: pick((f) => f.certificate.files[0]),
  };
}

/** `params`: the story parameters of `ctx.story`, when the caller read them once for many drafts. */
export function buildStoryIncident(draft: StoryDraft, ctx: BuildContext, params: StoryParams = storyParams(ctx.story)): Incident {
  const { findings } = draft;
  const first = findings[0];
  const last = findings[findings.length - 1];
  if (!first || !last) throw new Error(`story ${draft.incidentId} has no findings`);
  const rule = ctx.rules?.get(draft.ruleId) ?? ctx.rule;
  const chainLink = storyChain(findings, ctx.chainWindowMs ?? DEFAULT_CHAIN_WINDOW_MS, draft.times);
  const chain = chainLink !== null;
  const deviceSource = findings.find((f) => f.device.id) ?? first;
  const device = { id: deviceSource.device.id, name: deviceSource.device.name };
  const creations = findings.filter((f) => chainRole(f) === 'create');
  const signer = signerOf(findings, creations);
  const score = scoreIncident(findings, rule, { chain });

  const padding = ctx.huntingLinkPaddingMs ?? DEFAULT_HUNTING_LINK_PADDING_MS;
  const firstMs = Math.min(draft.firstSeen, draft.times[0] ?? findingTime(first));
  const lastMs = Math.max(draft.lastSeen, draft.times[draft.times.length - 1] ?? findingTime(last));
  const linkWindow = {
    start: new Date(firstMs - padding),
    // A window ending in the future is legal but odd in the portal; stop at "now".
    end: new Date(Math.max(lastMs, Math.min(lastMs + padding, ctx.now.getTime()))),
  };
  const branchSource = creations[0] ?? first;

  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    id: draft.incidentId,
    tenantId: ctx.tenantId,
    ruleId: draft.ruleId,
    title: incidentTitle({ findings, chain, signer, deviceName: device.name }),
    chain,
    branch: branchSource.branch,
    device,
    accounts: distinctAccounts(findings),
    signer,
    firstSeen: new Date(firstMs).toISOString(),
    lastSeen: new Date(lastMs).toISOString(),
    findingCount: Math.max(draft.findingCount, findings.length),
    findingIds: findings.map((f) => f.id),
    // The store mints the revision when it announces the incident.
    revision: 0,
    severity: score.severity,
    confidence: score.confidence,
    reasons: score.reasons,
    attack: attackFor(findings, rule),
    falsePositiveHints: falsePositiveHints(findings, rule.falsePositives),
    links: incidentLinks({
      ruleId: draft.ruleId,
      incidentId: draft.incidentId,
      query: rule.query,
      deviceId: device.id,
      window: linkWindow,
      signer,
      ...(ctx.portalBaseUrl !== undefined ? { portalBaseUrl: ctx.portalBaseUrl } : {}),
      allowlistBaseUrl: ctx.allowlistBaseUrl ?? null,
    }),
    status: 'new',
    window: { start: new Date(firstMs).toISOString(), end: new Date(lastMs + params.windowMs).toISOString() },
    chainLink,
    story: { actor: draft.actorKey, fileCount: draft.fileCount, files: draft.files, previousIncidentId: draft.previousIncidentId },
    findings,
  };
}

/** Incidents of one batch of findings on their own (no earlier cycles): suppressed ones left out. */
export function buildIncidents(findings: readonly Finding[], ctx: BuildContext): Incident[] {
  const drafts = assembleStories({
    tenantId: ctx.tenantId,
    fresh: findings.filter((f) => f.suppressedBy === null),
    ...(ctx.story ? { params: ctx.story } : {}),
  });
  const params = storyParams(ctx.story);
  return drafts.map((draft) => buildStoryIncident(draft, ctx, params));
}

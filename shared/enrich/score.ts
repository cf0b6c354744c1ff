/**
 * Scoring: an incident's severity and confidence, starting from the rule's defaults and moved by
 * named reasons the reader can check (suspicious parent, user-writable path, code-signing EKU,
 * vendor imitation, exported PFX, trust-store import, a create-then-use chain; lowered for CI
 * agents and developer-proxy certificates). Every move is a `ScoreReason`, so the card explains
 * its own rating. Pure.
 */
import { SEVERITIES, type Branch, type Finding, type Severity } from '../model/finding';
import { CONFIDENCES, type Confidence, type ScoreReason } from '../model/incident';
import type { RuleContext } from './rule-context';
import { ciAgentOf, isDevProxySubject, trustImportOf, userWritablePath } from './signals';
import { detectVendorImitation } from './vendors';

export interface IncidentScore {
  severity: Severity;
  confidence: Confidence;
  /** Raising reasons first (in a fixed order), then lowering ones. */
  reasons: ScoreReason[];
}

export interface ScoreContext {
  /** The incident links a certificate creation to its use (signing or trust-store import). */
  chain: boolean;
}

export const REASON_CODES = [
  'suspicious-parent',
  'user-writable-path',
  'code-signing-eku',
  'vendor-imitation',
  'exported-pfx',
  'root-store-import',
  'trusted-publisher-import',
  'chain',
  'ci-agent-parent',
  'dev-proxy-subject',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

const HIGH = SEVERITIES.indexOf('high');

function reason(code: ReasonCode, text: string, severityDelta: number, confidenceDelta: number): ScoreReason {
  return { code, text, severityDelta, confidenceDelta };
}

function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null && v.trim() !== ''))];
}

function quoteList(values: readonly string[], max = 3): string {
  const shown = values.slice(0, max).map((v) => `'${v}'`);
  const more = values.length > max ? ` and ${values.length - max} more` : '';
  return shown.join(', ') + more;
}

function clamp(value: number, max: number): number {
  return Math.min(Math.max(value, 0), max);
}

/**
 * Rules whose row is a writer (a file or registry event): the row's process is the writer and its
 * parent the writer's parent, and the flag covers either (a key file written by rundll32.exe,
 * started by explorer.exe), so the reason names both rather than the ordinary parent alone.
 */
const WRITER_BRANCHES: ReadonlySet<Branch> = new Set<Branch>(['File-CertKeyWrite', 'Registry-TrustStoreWrite']);

/** What the raising reasons read of a story, gathered in one pass over its findings. */
interface StoryFacts {
  suspiciousParents: Set<string>;
  /** `'rundll32.exe' started by 'explorer.exe'` for flagged writer rows. */
  suspiciousWriters: Set<string>;
  anySuspicious: boolean;
  writable: Set<string>;
  anyTempFlag: boolean;
  eku: boolean;
  subjects: Set<string>;
  exportedPfx: boolean;
  rootImport: boolean;
  publisherImport: boolean;
  /** The CI agent of every finding, or null once one finding has none (only "all" lowers). */
  agents: (string | null)[] | null;
}

function storyFacts(findings: readonly Finding[]): StoryFacts {
  const facts: StoryFacts = {
    suspiciousParents: new Set(),
    suspiciousWriters: new Set(),
    anySuspicious: false,
    writable: new Set(),
    anyTempFlag: false,
    eku: false,
    subjects: new Set(),
    exportedPfx: false,
    rootImport: false,
    publisherImport: false,
    agents: [],
  };
  for (const f of findings) {
    if (facts.agents !== null) {
      const agent = ciAgentOf(f);
      if (agent === null) facts.agents = null;
      else facts.agents.push(agent);
    }
    if (f.flags.suspiciousParent) {
      facts.anySuspicious = true;
      const parent = f.parent.fileName;
      const named = parent !== null && parent.trim() !== '';
      const writer = f.process.fileName;
      if (WRITER_BRANCHES.has(f.branch) && writer !== null && writer.trim() !== '') {
        facts.suspiciousWriters.add(named ? `'${writer}' started by '${parent}'` : `'${writer}'`);
      } else if (named) facts.suspiciousParents.add(parent);
    }
    const path = userWritablePath(f);
    if (path !== null && path.trim() !== '') facts.writable.add(path);
    if (f.flags.tempLocation) facts.anyTempFlag = true;
    if (f.certificate.codeSigningEku) facts.eku = true;
    const subject = f.certificate.subject;
    if (subject && subject.trim() !== '') facts.subjects.add(subject);
    if (f.action === 'export-pfx') facts.exportedPfx = true;
    if (f.action === 'import-store') {
      const trust = trustImportOf(f);
      if (trust === 'root') facts.rootImport = true;
      else if (trust === 'publisher') facts.publisherImport = true;
    }
  }
  return facts;
}

/** The reasons that raise the rating, chain excluded (it is applied on top, see below). */
function raisingReasons(facts: StoryFacts): ScoreReason[] {
  const reasons: ScoreReason[] = [];

  if (facts.anySuspicious) {
    const parents = [...facts.suspiciousParents];
    const writers = [...facts.suspiciousWriters];
    const said: string[] = [];
    if (parents.length > 0 || writers.length === 0) {
      said.push(`Started by a parent process unusual for certificate tooling${parents.length > 0 ? ` (${quoteList(parents)})` : ''}`);
    }
    if (writers.length > 0) {
      const more = writers.length > 2 ? ` and ${writers.length - 2} more` : '';
      said.push(`${said.length > 0 ? 'written' : 'Written'} by a process unusual for certificate work, or by a child of one (${writers.slice(0, 2).join(', ')}${more})`);
    }
    reasons.push(reason('suspicious-parent', `${said.join('; ')}.`, 1, 1));
  }

  if (facts.writable.size > 0 || facts.anyTempFlag) {
    const where = facts.writable.size > 0 ? ` (${quoteList([...facts.writable], 2)})` : '';
    reasons.push(reason('user-writable-path', `Runs from or writes to a temporary or user-writable location${where}.`, 1, 0));
  }

  if (facts.eku) {
    reasons.push(
      reason('code-signing-eku', 'The certificate requests the code-signing usage (EKU 1.3.6.1.5.5.7.3.3): it is made to sign code.', 0, 1),
    );
  }

  for (const subject of facts.subjects) {
    const imitation = detectVendorImitation(subject);
    if (!imitation) continue;
    const how = imitation.kind === 'exact' ? `uses the name of ${imitation.vendor}` : `imitates ${imitation.vendor} ('${imitation.matched}')`;
    reasons.push(reason('vendor-imitation', `Subject '${subject}' ${how} on a self-made certificate.`, 1, 1));
    break;
  }

  if (facts.exportedPfx) {
    reasons.push(reason('exported-pfx', 'The certificate and its private key were exported to a PFX file: the key leaves the store.', 1, 0));
  }
  if (facts.rootImport) {
    reasons.push(
      reason('root-store-import', 'A certificate was imported into the trusted root store: the device now trusts what it signs.', 1, 1),
    );
  }
  if (facts.publisherImport) {
    reasons.push(
      reason('trusted-publisher-import', 'A certificate was imported into TrustedPublisher: code it signs runs without prompts.', 1, 0),
    );
  }
  return reasons;
}

/**
 * Signals an attacker cannot simply choose: a creation followed by use, a parent unusual for
 * certificate tooling, a requested code-signing usage. Where one is present, lowering signals
 * cannot take severity below medium.
 */
function hasFloorSignal(facts: StoryFacts, chain: boolean): boolean {
  return chain || facts.anySuspicious || facts.eku;
}

const MEDIUM = SEVERITIES.indexOf('medium');

function loweringReasons(findings: readonly Finding[], facts: StoryFacts, floored: boolean): ScoreReason[] {
  const reasons: ScoreReason[] = [];
  // Only when EVERY finding comes from the agent: one step run outside the pipeline is not a build.
  if (findings.length > 0 && facts.agents !== null) {
    reasons.push(
      reason('ci-agent-parent', `Started by a CI build agent (${quoteList(distinct(facts.agents))}): build pipelines often make test certificates.`, -1, -1),
    );
  }
  const subjects = [...facts.subjects];
  // Only when EVERY subject of the story is one: a proxy name beside another certificate says nothing.
  if (subjects.length > 0 && subjects.every(isDevProxySubject)) {
    // The attacker chooses a certificate's name: with a floor signal it may cost confidence only.
    reasons.push(
      floored
        ? reason(
            'dev-proxy-subject',
            `Subject ${quoteList(subjects)} is the name of a developer proxy or dev-server certificate; anyone can choose that name, so with the signals above it lowers confidence only.`,
            0,
            -1,
          )
        : reason('dev-proxy-subject', `Subject ${quoteList(subjects)} is a known developer proxy or dev-server certificate.`, -2, -1),
    );
  }
  return reasons;
}

/**
 * Severity = rule default + raising deltas; a chain then lifts it to at least high (its delta is
 * whatever that takes); lowering deltas apply last, so a CI pipeline that creates and signs still
 * ends below a chain from a user's shell. Lowering never takes a story with a floor signal (chain,
 * suspicious parent, code-signing EKU) below medium, and a name-based signal then costs only
 * confidence. The score reads every finding of the story: a signal in one step counts whatever the
 * other steps look like. Both scales clamp at their ends.
 */
export function scoreIncident(findings: readonly Finding[], rule: Pick<RuleContext, 'severity' | 'confidence'>, context: ScoreContext = { chain: false }): IncidentScore {
  const facts = storyFacts(findings);
  const raising = raisingReasons(facts);
  let severity = SEVERITIES.indexOf(rule.severity) + raising.reduce((sum, r) => sum + r.severityDelta, 0);
  severity = clamp(severity, HIGH);
  if (context.chain) {
    const lift = Math.max(0, HIGH - severity);
    raising.push(
      reason('chain', 'A self-made certificate was created and then used on the same device (signing or trust-store import).', lift, 1),
    );
    severity = HIGH;
  }
  const floored = hasFloorSignal(facts, context.chain);
  const lowering = loweringReasons(findings, facts, floored);
  const raised = severity;
  const floor = floored ? Math.min(raised, MEDIUM) : 0;
  severity = Math.max(clamp(severity + lowering.reduce((sum, r) => sum + r.severityDelta, 0), HIGH), floor);

  const reasons = [...raising, ...lowering];
  const confidence = clamp(
    CONFIDENCES.indexOf(rule.confidence) + reasons.reduce((sum, r) => sum + r.confidenceDelta, 0),
    CONFIDENCES.length - 1,
  );
  return {
    severity: SEVERITIES[severity] ?? rule.severity,
    confidence: CONFIDENCES[confidence] ?? rule.confidence,
    reasons,
  };
}

/**
 * The rule metadata enrichment needs, as a plain typed value. The caller maps the rule loader's
 * output (rules/<id>/rule.yaml) onto it, so enrichment does not depend on the loader's shape.
 */
import type { Severity } from '../model/finding';
import type { AttackTechnique, Confidence } from '../model/incident';

/**
 * A documented false-positive source. Matchers are optional; the hint is offered when EVERY matcher
 * given matches one finding of the incident (entries without matchers are never offered: there is
 * nothing to tell whether they fit). Values are case-insensitive; `*` is a wildcard.
 */
export interface FalsePositiveEntry {
  id: string;
  description: string;
  /** What to check or do, shown to the reader. */
  hint: string;
  /** Parent process file names (`Runner.Worker.exe`, `java.exe`). */
  parents?: string[];
  /** Substrings or wildcards of the parent command line (`*jenkins*`). */
  parentCommandLines?: string[];
  /** Certificate subjects (`CN=DO_NOT_TRUST_FiddlerRoot*`). */
  subjects?: string[];
  /** Process folder or certificate / signed file paths (`*\\Jenkins\\workspace\\*`). */
  paths?: string[];
  /** Account names. */
  accounts?: string[];
  /** Device names. */
  devices?: string[];
}

export interface RuleContext {
  id: string;
  name: string;
  /** Defaults that scoring starts from. */
  severity: Severity;
  confidence: Confidence;
  attack: AttackTechnique[];
  falsePositives: FalsePositiveEntry[];
  /** The hunting query (KQL), for the Defender portal deep link. */
  query: string;
}

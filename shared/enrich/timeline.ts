/**
 * A story told as a short timeline: one line per step (time, tool, action, the file or
 * certificate it touched), with repeated work folded into one line (a build agent's thirty
 * `signtool sign` runs are "signtool / sign ×30, 30 files"). The incident card, the demo summary
 * and `replay` print it. Pure; every string in it comes from telemetry, so callers render it as
 * untrusted text.
 */
import type { Finding } from '../model/finding';
import { baseName } from '../incidents/identity';

export interface TimelineLine {
  /** 1-based position of the line's first step in the story. */
  step: number;
  /** Steps folded into the line (1 for a single step). */
  count: number;
  /** Event time of the first and last step (ISO). */
  from: string;
  to: string;
  tool: string;
  action: string;
  /** What the first step touched: a file, a certificate subject, a store; null when nothing is named. */
  object: string | null;
  /** Distinct objects over the folded steps. */
  objects: number;
}

export interface Timeline {
  lines: TimelineLine[];
  /** Steps in the evidence that the lines do not show. */
  moreSteps: number;
}

export const DEFAULT_TIMELINE_LINES = 6;

function lastPfx(files: readonly string[]): string | null {
  const pfx = [...files].reverse().find((f) => /\.(?:pfx|p12)$/i.test(f.trim()));
  return pfx ?? null;
}

/** The file or certificate a step touched, as short as it can be said. */
export function stepObject(finding: Finding): string | null {
  const { certificate } = finding;
  const file = (path: string | null | undefined): string | null => (path && path.trim() ? baseName(path) : null);
  switch (finding.action) {
    case 'sign':
      return file(finding.signedFiles[0] ?? finding.signedFile) ?? file(certificate.files[0]) ?? certificate.subject ?? certificate.thumbprint;
    case 'import-store': {
      const what = file(certificate.files[0]) ?? certificate.subject ?? certificate.thumbprint;
      const store = certificate.store ? baseName(certificate.store) : null;
      return store && what ? `${what} into ${store}` : (what ?? (store ? `into ${store}` : null));
    }
    case 'create-cert':
      return certificate.subject ?? file(certificate.files[certificate.files.length - 1]) ?? certificate.thumbprint;
    case 'export-pfx':
    case 'convert-key':
      return file(lastPfx(certificate.files)) ?? file(certificate.files[0]) ?? certificate.thumbprint ?? certificate.subject;
    default:
      return file(certificate.files[0]) ?? certificate.subject ?? certificate.thumbprint ?? file(finding.signedFile);
  }
}

/**
 * The step as "tool / action". A self-signed program that ran (the self-signed-binaries rule)
 * carries action `sign` for its signer, but what happened at that step is a run: said as such, so
 * that a reader never counts it as another signing.
 */
function stepVerb(finding: Finding): { tool: string; action: string } {
  if (finding.branch === 'Binary-SelfSignedExecution') return { tool: 'program', action: 'ran self-signed' };
  return { tool: finding.tool, action: finding.action };
}

/**
 * The story's timeline from its evidence, at most `maxLines` lines. `totalSteps` (the incident's
 * finding count) may exceed the evidence carried; the difference counts as more steps.
 */
export function storyTimeline(findings: readonly Finding[], options: { maxLines?: number; totalSteps?: number } = {}): Timeline {
  const maxLines = Math.max(1, options.maxLines ?? DEFAULT_TIMELINE_LINES);
  // Evidence may come off a queue: an unreadable time sorts first rather than failing the card.
  const timeOf = (f: Finding): number => {
    const t = Date.parse(f.timestamp);
    return Number.isNaN(t) ? 0 : t;
  };
  const ordered = findings
    .map((finding) => ({ finding, t: timeOf(finding) }))
    .sort((a, b) => a.t - b.t || (a.finding.id < b.finding.id ? -1 : a.finding.id > b.finding.id ? 1 : 0))
    .map((e) => e.finding);
  const lines: (TimelineLine & { seen: Set<string> })[] = [];
  ordered.forEach((finding, index) => {
    const object = stepObject(finding);
    const time = Number.isNaN(Date.parse(finding.timestamp)) ? finding.timestamp : new Date(Date.parse(finding.timestamp)).toISOString();
    const previous = lines[lines.length - 1];
    const { tool, action } = stepVerb(finding);
    // Repeated work folds: the same tool and action, one after the other.
    if (previous && previous.tool === tool && previous.action === action && action !== 'create-cert') {
      previous.count++;
      previous.to = time;
      if (object !== null) previous.seen.add(object.toLowerCase());
      previous.objects = previous.seen.size;
      return;
    }
    const seen = new Set<string>(object !== null ? [object.toLowerCase()] : []);
    lines.push({ step: index + 1, count: 1, from: time, to: time, tool, action, object, objects: seen.size, seen });
  });
  const shown = lines.slice(0, maxLines).map(({ seen: _seen, ...line }) => line);
  const stepsShown = shown.reduce((sum, line) => sum + line.count, 0);
  const total = Math.max(options.totalSteps ?? ordered.length, ordered.length);
  return { lines: shown, moreSteps: total - stepsShown };
}

function clock(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? iso.slice(11, 19) : '--:--:--';
}

/** One line as plain text: `#3 10:19:30 signtool / sign TailspinSetup.exe`. */
export function formatTimelineLine(line: TimelineLine): string {
  const steps = line.count > 1 ? `#${line.step}-${line.step + line.count - 1}` : `#${line.step}`;
  const when = line.count > 1 ? `${clock(line.from)}-${clock(line.to)}` : clock(line.from);
  const times = line.count > 1 ? ` x${line.count}` : '';
  const object =
    line.object === null ? '' : line.objects > 1 ? ` ${line.object} and ${line.objects - 1} more` : ` ${line.object}`;
  return `${steps} ${when} ${line.tool} / ${line.action}${times}${object}`;
}

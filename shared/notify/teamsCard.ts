/**
 * Teams cards for Workflows webhooks ("When a Teams webhook request is received" → post card):
 * the payload is `{ type: 'message', attachments: [{ contentType: adaptive card, contentUrl:
 * null, content: <AdaptiveCard 1.5> }] }`. This module owns the incident, digest, health and
 * allowlist-change cards and their size budget.
 *
 * Safety: everything that comes from the monitored machines (command lines, file names, subjects,
 * account and device names, titles and reason texts built from them) is placed only in
 * `TextRun`s, which are not markdown-processed, after `neutralizeText` (visible markers for
 * bidi/invisible characters, defanged `://`). TextBlocks carry only our own static labels, and
 * still go through `escapeMarkdown`. No `msteams.entities` are ever emitted, so `<at>` text can
 * never become a mention. Only `Action.OpenUrl` with https urls (Workflows cards cannot submit).
 *
 * The incident card tells the story as a short timeline (shared/enrich/timeline.ts); the digest
 * groups incidents by device, each device's most severe stories first.
 *
 * Size: Teams rejects messages over about 28 KB; we keep the whole payload under 20 KB (UTF-8
 * bytes of the JSON) whatever the input by rendering at decreasing detail levels, cutting the
 * least important parts first: timeline lines and file names, then the command line, then reasons
 * and field lengths, and last the action links.
 */
import type { Severity } from '../model/finding';
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import type {
  AllowlistChangePayload,
  DigestPayload,
  HealthPayload,
  IncidentEvent,
  IncidentPayload,
  NotificationMessage,
} from './message';
import { escapeMarkdown, safeText } from './escape';
import { conditionLabel } from '../allowlist/labels';
import { storyTimeline, type TimelineLine } from '../enrich/timeline';

export const TEAMS_CARD_MAX_BYTES = 20_000;
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

type TextColor = 'Default' | 'Accent' | 'Good' | 'Warning' | 'Attention';
type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large';

export interface TextRun {
  type: 'TextRun';
  text: string;
  weight?: 'Bolder';
  size?: 'Small' | 'Medium' | 'Large';
  color?: TextColor;
  isSubtle?: boolean;
  fontType?: 'Monospace';
}
export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: Spacing;
}
export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  weight?: 'Bolder';
  size?: 'Small' | 'Medium' | 'Large';
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: Spacing;
}
export interface OpenUrlAction {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}
export interface Container {
  type: 'Container';
  items: CardElement[];
  style?: ContainerStyle;
  bleed?: boolean;
  spacing?: Spacing;
  separator?: boolean;
  selectAction?: OpenUrlAction;
}
export type CardElement = TextRun | RichTextBlock | TextBlock | Container;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: CardElement[];
  actions?: OpenUrlAction[];
  msteams: { width: 'Full' };
}

export interface TeamsWorkflowPayload {
  type: 'message';
  attachments: [{ contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; contentUrl: null; content: AdaptiveCard }];
}

export interface BuiltTeamsPayload {
  payload: TeamsWorkflowPayload;
  /** UTF-8 bytes of JSON.stringify(payload): what is posted. */
  bytes: number;
  /** 0 = full detail; higher = more was cut to fit. */
  level: number;
}

// ---------------------------------------------------------------------------------------------
// Element helpers

/** Static label text (still escaped: a label must never be able to format). */
function label(text: string, extra: Partial<Omit<TextBlock, 'type' | 'text' | 'wrap'>> = {}): TextBlock {
  return { type: 'TextBlock', text: escapeMarkdown(text), wrap: true, ...extra };
}

/** Untrusted text: a TextRun (markdown-inert), neutralized and truncated. */
function run(value: string | null | undefined, max: number, extra: Partial<Omit<TextRun, 'type' | 'text'>> = {}): TextRun {
  const text = safeText(value, max);
  return { type: 'TextRun', text: text === '' ? '—' : text, ...extra };
}

/** A static run (our own words); kept separate so a reader sees what is trusted. */
function staticRun(text: string, extra: Partial<Omit<TextRun, 'type' | 'text'>> = {}): TextRun {
  return { type: 'TextRun', text, ...extra };
}

function rich(inlines: TextRun[], spacing?: Spacing): RichTextBlock {
  return spacing ? { type: 'RichTextBlock', inlines, spacing } : { type: 'RichTextBlock', inlines };
}

function fact(name: string, value: string | null | undefined, max: number, extra: Partial<Omit<TextRun, 'type' | 'text'>> = {}): RichTextBlock {
  return rich([staticRun(`${name}: `, { weight: 'Bolder' }), run(value, max, extra)]);
}

/** https only, bounded length, normalized; anything else is dropped rather than shown. */
function safeLink(url: string | null | undefined, maxLength: number): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    // http only to this machine: the demo's local allowlist page (run --demo --serve).
    const loopback = parsed.protocol === 'http:' && (parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost');
    if ((parsed.protocol !== 'https:' && !loopback) || parsed.username || parsed.password) return null;
    return parsed.href.length <= maxLength ? parsed.href : null;
  } catch {
    return null;
  }
}

function listText(values: readonly string[], maxItems: number): string {
  const shown = values.slice(0, maxItems);
  const more = values.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` (and ${more} more)` : '');
}

const SEVERITY_STYLE: Record<Severity, { style: ContainerStyle; color: TextColor }> = {
  high: { style: 'attention', color: 'Attention' },
  medium: { style: 'warning', color: 'Warning' },
  low: { style: 'accent', color: 'Accent' },
  informational: { style: 'emphasis', color: 'Default' },
};

/** Enum-typed, but it came off a queue: only known words reach a TextBlock. */
function confidenceLabel(value: string): string {
  return value === 'low' || value === 'medium' || value === 'high' ? value : 'unknown';
}

const CHAIN_BASIS_LABEL: Record<string, string> = {
  subject: ', linked by certificate subject',
  thumbprint: ', linked by thumbprint',
  file: ', linked by certificate file',
  'device-time': ', linked by device and time',
};

const EVENT_LABEL: Record<IncidentEvent, string> = {
  created: 'new incident',
  updated: 'updated incident',
  closed: 'closed incident',
};

function card(body: CardElement[], actions: OpenUrlAction[]): AdaptiveCard {
  const content: AdaptiveCard = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    msteams: { width: 'Full' },
  };
  if (actions.length > 0) content.actions = actions;
  return content;
}

export function wrapTeamsPayload(content: AdaptiveCard): TeamsWorkflowPayload {
  return { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content }] };
}

export function payloadBytes(payload: TeamsWorkflowPayload): number {
  return Buffer.byteLength(JSON.stringify(payload), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Incident card

/** Detail levels, most detailed first. Each step cuts the next least important part. */
interface IncidentLevel {
  timeline: number; // story lines shown
  files: number; // file names listed
  cmd: number; // command line code points
  reasons: number;
  reasonText: number;
  text: number; // any other field
  accounts: number;
  hints: number;
  attack: number;
  maxUrl: number;
}

const INCIDENT_LEVELS: readonly IncidentLevel[] = [
  { timeline: 6, files: 10, cmd: 3000, reasons: 12, reasonText: 300, text: 300, accounts: 5, hints: 5, attack: 6, maxUrl: 8000 },
  { timeline: 6, files: 5, cmd: 3000, reasons: 12, reasonText: 300, text: 300, accounts: 5, hints: 5, attack: 6, maxUrl: 8000 },
  { timeline: 4, files: 3, cmd: 3000, reasons: 12, reasonText: 300, text: 300, accounts: 5, hints: 3, attack: 6, maxUrl: 8000 },
  { timeline: 2, files: 0, cmd: 3000, reasons: 12, reasonText: 300, text: 300, accounts: 5, hints: 3, attack: 6, maxUrl: 8000 },
  { timeline: 0, files: 0, cmd: 3000, reasons: 12, reasonText: 300, text: 300, accounts: 5, hints: 2, attack: 6, maxUrl: 8000 },
  { timeline: 0, files: 0, cmd: 1500, reasons: 10, reasonText: 250, text: 250, accounts: 3, hints: 1, attack: 6, maxUrl: 6000 },
  { timeline: 0, files: 0, cmd: 600, reasons: 8, reasonText: 200, text: 200, accounts: 3, hints: 0, attack: 4, maxUrl: 4000 },
  { timeline: 0, files: 0, cmd: 250, reasons: 5, reasonText: 160, text: 160, accounts: 2, hints: 0, attack: 3, maxUrl: 3000 },
  { timeline: 0, files: 0, cmd: 120, reasons: 3, reasonText: 120, text: 100, accounts: 1, hints: 0, attack: 2, maxUrl: 2000 },
  // Last resort (only with absurd link lengths): no actions.
  { timeline: 0, files: 0, cmd: 120, reasons: 3, reasonText: 120, text: 100, accounts: 1, hints: 0, attack: 2, maxUrl: 0 },
];

function levelAt<T>(levels: readonly T[], index: number): T {
  const level = levels[Math.max(0, Math.min(index, levels.length - 1))];
  if (level === undefined) throw new Error('no card levels defined');
  return level;
}

/** The finding the card headlines: the first at the incident's severity, else the first. */
export function primaryFinding(incident: Incident): Finding | null {
  return incident.findings.find((f) => f.severity === incident.severity) ?? incident.findings[0] ?? null;
}

function formatTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

function clockTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().slice(11, 19);
}

/** `1 step`, `4 steps`. */
function steps(count: number): string {
  return count === 1 ? '1 step' : `${count} steps`;
}

/** One timeline line: `#3 10:19:30 · signtool / sign ×30 · TailspinSetup.exe and 29 more`. */
function timelineRow(line: TimelineLine, max: number): RichTextBlock {
  const steps = line.count > 1 ? `#${line.step}-${line.step + line.count - 1}` : `#${line.step}`;
  const when = line.count > 1 ? `${clockTime(line.from)}-${clockTime(line.to)}` : clockTime(line.from);
  const inlines: TextRun[] = [
    staticRun(`${steps} `, { weight: 'Bolder' }),
    staticRun(`${when} UTC · `, { isSubtle: true }),
    // Tool and action are enums, but they came off a queue: through run() like any other text.
    run(`${line.tool} / ${line.action}${line.count > 1 ? ` ×${line.count}` : ''}`, 60),
  ];
  if (line.object !== null) {
    inlines.push(staticRun(' · '), run(line.object, max, { fontType: 'Monospace' }));
    if (line.objects > 1) inlines.push(staticRun(` and ${line.objects - 1} more`, { isSubtle: true }));
  }
  return rich(inlines, 'Small');
}

function incidentActions(incident: Incident, maxUrl: number): OpenUrlAction[] {
  const out: OpenUrlAction[] = [];
  const add = (title: string, url: string | null) => {
    const safe = safeLink(url, maxUrl);
    if (safe) out.push({ type: 'Action.OpenUrl', title, url: safe });
  };
  add('Open device in Defender', incident.links.device);
  add('Open hunting query', incident.links.huntingQuery);
  add('Allowlist this signer', incident.links.allowlistSigner);
  return out;
}

export function incidentCard(payload: IncidentPayload, levelIndex = 0): AdaptiveCard {
  const L = levelAt(INCIDENT_LEVELS, levelIndex);
  const incident = payload.incident;
  const sev = SEVERITY_STYLE[incident.severity];
  const primary = primaryFinding(incident);
  let cut = levelIndex > 0 || payload.trimmed !== undefined;

  const header: CardElement[] = [
    // The revision tells a reader which of two cards about one incident is the newer (the higher).
    label(`${incident.severity.toUpperCase()} severity · ${confidenceLabel(incident.confidence)} confidence · ${EVENT_LABEL[payload.event]} · revision ${Math.trunc(incident.revision)}`, {
      weight: 'Bolder',
      color: sev.color,
      size: 'Small',
    }),
    rich([run(incident.title, L.text, { weight: 'Bolder', size: 'Medium' })]),
  ];
  if (incident.chain) {
    // linkedBy is an enum, but it came off a queue: only known words reach the TextBlock.
    const basis = CHAIN_BASIS_LABEL[String(incident.chainLink?.linkedBy)] ?? '';
    header.push(label(`Chain: a certificate was created and then used on the same device, T1587.002 then T1553.002${basis}`, { isSubtle: true, size: 'Small' }));
  }
  const body: CardElement[] = [{ type: 'Container', style: sev.style, bleed: true, items: header }];

  // `story` is absent from messages queued by versions before stories: the card does without.
  const story = incident.story as Incident['story'] | undefined;
  const facts: CardElement[] = [
    fact('Device', incident.device.name, L.text),
    fact('Accounts', listText(incident.accounts, L.accounts), L.text),
    fact('Seen', `${formatTime(incident.firstSeen)} to ${formatTime(incident.lastSeen)} (${steps(incident.findingCount)})`, 200),
  ];
  if (primary?.parent.fileName) {
    // What the suspicious-parent flag looked at, shell included (cmd.exe started by winword.exe).
    const grandparent = primary.parent.parentFileName;
    facts.push(fact('Parent process', grandparent ? `${primary.parent.fileName}, started by ${grandparent}` : primary.parent.fileName, L.text));
  }
  facts.push(fact('Certificate subject', incident.signer.subject, L.text));
  facts.push(fact('Thumbprint', incident.signer.thumbprint, 130, { fontType: 'Monospace' }));
  if (incident.signer.file) facts.push(fact('Certificate file', incident.signer.file, L.text));
  const fileCount = Math.max(story?.fileCount ?? 0, story?.files.length ?? 0);
  if (story && fileCount > 0) {
    if (L.files > 0) {
      const more = fileCount - Math.min(L.files, story.files.length);
      const names = story.files.slice(0, L.files).join(', ') + (more > 0 ? ` and ${more} more` : '');
      facts.push(fact(`Files touched (${fileCount})`, names, L.text * 2));
    } else {
      facts.push(fact('Files touched', String(fileCount), 20));
      cut = true;
    }
  }
  if (story?.previousIncidentId) facts.push(fact('Seen before on this device', story.previousIncidentId, 80, { fontType: 'Monospace' }));
  body.push({ type: 'Container', spacing: 'Medium', items: facts });

  // The story as a short timeline: step, time, tool and action, what it touched.
  const timeline = storyTimeline(incident.findings, { maxLines: Math.max(1, L.timeline), totalSteps: incident.findingCount });
  if (L.timeline > 0 && timeline.lines.length > 0) {
    body.push(label(`The story in ${steps(Math.max(incident.findingCount, incident.findings.length))}`, { weight: 'Bolder', spacing: 'Medium' }));
    for (const line of timeline.lines) body.push(timelineRow(line, L.text));
    if (timeline.moreSteps > 0) body.push(label(`and ${timeline.moreSteps} more steps`, { isSubtle: true, size: 'Small' }));
  } else if (incident.findingCount > 1 || incident.findings.length > 1) {
    cut = true;
  }

  if (primary) {
    body.push(label('Command line', { weight: 'Bolder', spacing: 'Medium' }));
    body.push(rich([run(primary.commandLine, L.cmd, { fontType: 'Monospace' })]));
    if (primary.decodedCommand) {
      body.push(label('Decoded command', { weight: 'Bolder' }));
      body.push(rich([run(primary.decodedCommand, Math.ceil(L.cmd / 2), { fontType: 'Monospace' })]));
    }
  }

  if (incident.reasons.length > 0) {
    body.push(label('Why this severity', { weight: 'Bolder', spacing: 'Medium' }));
    for (const reason of incident.reasons.slice(0, L.reasons)) {
      const mark = reason.severityDelta > 0 ? '▲ ' : reason.severityDelta < 0 ? '▼ ' : '• ';
      body.push(rich([staticRun(mark, { weight: 'Bolder' }), run(reason.text, L.reasonText)], 'Small'));
    }
    if (incident.reasons.length > L.reasons) body.push(label(`and ${incident.reasons.length - L.reasons} more reasons`, { isSubtle: true }));
  }

  if (incident.attack.length > 0) {
    body.push(label('MITRE ATT&CK', { weight: 'Bolder', spacing: 'Medium' }));
    const techniques = incident.attack.slice(0, L.attack);
    body.push(rich([run(techniques.map((t) => `${t.id} ${t.name}`).join(' · '), L.text)]));
  }

  if (L.hints > 0 && incident.falsePositiveHints.length > 0) {
    body.push(label('Possible benign explanations', { weight: 'Bolder', spacing: 'Medium' }));
    body.push(rich([run(listText(incident.falsePositiveHints.slice(0, L.hints), L.hints), L.text)]));
  }

  // The payload may carry fewer findings than the incident has (trimmed for the queue).
  if (incident.findingCount > incident.findings.length) cut = true;

  if (cut) {
    body.push(label('Some evidence is not shown here. The webhook payload and Defender have the full incident.', { isSubtle: true, size: 'Small', spacing: 'Medium' }));
  }
  return card(body, incidentActions(incident, L.maxUrl));
}

// ---------------------------------------------------------------------------------------------
// Digest, health and allowlist-change cards

interface CompactLevel {
  items: number;
  /** Digest: stories listed per device. */
  perDevice: number;
  text: number;
  maxUrl: number;
}
const COMPACT_LEVELS: readonly CompactLevel[] = [
  { items: 25, perDevice: 3, text: 200, maxUrl: 2000 },
  { items: 15, perDevice: 3, text: 150, maxUrl: 1000 },
  { items: 10, perDevice: 2, text: 100, maxUrl: 600 },
  { items: 5, perDevice: 1, text: 80, maxUrl: 0 },
  { items: 3, perDevice: 1, text: 60, maxUrl: 0 },
];

export function digestCard(payload: DigestPayload, levelIndex = 0): AdaptiveCard {
  const L = levelAt(COMPACT_LEVELS, levelIndex);
  const top = payload.items[0]?.severity ?? 'informational';
  const s = payload.bySeverity;
  const body: CardElement[] = [
    {
      type: 'Container',
      style: SEVERITY_STYLE[top].style,
      bleed: true,
      items: [
        label(`${payload.total} incidents in this hunting cycle`, { weight: 'Bolder', size: 'Medium' }),
        label(`High ${s.high} · Medium ${s.medium} · Low ${s.low} · Informational ${s.informational}`, { color: SEVERITY_STYLE[top].color }),
        label('Sent as one summary because a Teams workflow accepts few messages at a time. Every incident is also in the webhook channels and in Defender.', {
          isSubtle: true,
          size: 'Small',
        }),
      ],
    },
  ];
  // Grouped by device, devices in order of their most severe story (items come most severe first).
  const byDevice = new Map<string, DigestPayload['items']>();
  for (const item of payload.items) {
    const list = byDevice.get(item.deviceName);
    if (list) list.push(item);
    else byDevice.set(item.deviceName, [item]);
  }
  let shown = 0;
  for (const [deviceName, items] of byDevice) {
    if (shown >= L.items) break;
    const top = items.slice(0, Math.min(L.perDevice, L.items - shown));
    shown += top.length;
    const rows: CardElement[] = [
      rich([run(deviceName, L.text, { weight: 'Bolder' }), staticRun(` · ${items.length} ${items.length === 1 ? 'story' : 'stories'}`, { isSubtle: true })]),
    ];
    for (const item of top) {
      rows.push(
        rich([
          staticRun(`${item.severity.toUpperCase()} `, { weight: 'Bolder', color: SEVERITY_STYLE[item.severity].color }),
          run(item.title, L.text),
        ]),
        rich([run(`${item.findingCount} steps · last seen ${formatTime(item.lastSeen)}${item.event === 'created' ? '' : ` · ${item.event}`}`, 120, { isSubtle: true })], 'None'),
      );
    }
    if (items.length > top.length) rows.push(label(`and ${items.length - top.length} more on this device`, { isSubtle: true, size: 'Small' }));
    const container: Container = { type: 'Container', separator: true, items: rows };
    const link = safeLink(top[0]?.deviceLink, L.maxUrl);
    if (link) container.selectAction = { type: 'Action.OpenUrl', title: 'Open device in Defender', url: link };
    body.push(container);
  }
  const notListed = payload.total - shown;
  if (notListed > 0) body.push(label(`and ${notListed} more incidents`, { isSubtle: true, spacing: 'Medium' }));
  return card(body, []);
}

const HEALTH_DETAIL_LIMIT = 10;

export function healthCard(payload: HealthPayload, levelIndex = 0): AdaptiveCard {
  const L = levelAt(COMPACT_LEVELS, levelIndex);
  const error = payload.level === 'error';
  const body: CardElement[] = [
    {
      type: 'Container',
      style: error ? 'attention' : 'warning',
      bleed: true,
      items: [
        label(error ? 'Health alert: error' : 'Health alert: warning', { weight: 'Bolder', color: error ? 'Attention' : 'Warning' }),
        rich([run(payload.code, 80, { weight: 'Bolder', fontType: 'Monospace' })]),
      ],
    },
    rich([run(payload.summary, L.text * 3)], 'Medium'),
  ];
  const facts: CardElement[] = [];
  if (payload.channelId) facts.push(fact('Channel', payload.channelId, 80));
  if (payload.notificationId) facts.push(fact('Notification', payload.notificationId, 80, { fontType: 'Monospace' }));
  facts.push(fact('Time', formatTime(payload.at), 80));
  const details = Object.entries(payload.details).slice(0, Math.min(HEALTH_DETAIL_LIMIT, L.items));
  for (const [key, value] of details) {
    facts.push(rich([run(`${key}: `, 60, { weight: 'Bolder' }), run(value === null ? '—' : String(value), L.text)]));
  }
  body.push({ type: 'Container', spacing: 'Medium', items: facts });
  return card(body, []);
}

const ALLOWLIST_ACTION_LABEL: Record<string, string> = {
  added: 'Allowlist entry added',
  updated: 'Allowlist entry updated',
  removed: 'Allowlist entry removed',
  expired: 'Allowlist entry expired',
};

function changeLabel(field: string): string {
  if (field.startsWith('conditions.')) return conditionLabel(field.slice('conditions.'.length));
  return { scope: 'Scope', enabled: 'Enabled', expiresAt: 'Expires', permanent: 'Permanent', owner: 'Owner', reason: 'Entry reason', deleted: 'Deleted' }[field] ?? field;
}

/**
 * What was allowed, in full: every condition, scope, enabled, expiry, and what changed (before →
 * after). An entry that matches on a device pattern alone must not read "Signer subject: —".
 * Messages queued by older versions carry only the signer; they render as before.
 */
export function allowlistChangeCard(payload: AllowlistChangePayload, levelIndex = 0): AdaptiveCard {
  const L = levelAt(COMPACT_LEVELS, levelIndex);
  const facts: CardElement[] = [fact('Entry', payload.entryId, L.text, { fontType: 'Monospace' })];
  if (payload.conditions) {
    const entries = Object.entries(payload.conditions);
    if (entries.length === 0) facts.push(fact('Conditions', '(none)', 40));
    for (const [field, value] of entries) facts.push(fact(conditionLabel(field), value, L.text, { fontType: 'Monospace' }));
    if (payload.scope) facts.push(fact('Scope', payload.scope, L.text));
    if (payload.enabled !== undefined) facts.push(fact('Enabled', payload.enabled ? 'yes' : 'no', 10));
  } else {
    facts.push(fact('Signer subject', payload.signer.subject, L.text), fact('Thumbprint', payload.signer.thumbprint, 130, { fontType: 'Monospace' }));
  }
  facts.push(
    fact('Expires', payload.expiresAt ? formatTime(payload.expiresAt) : payload.permanent === false ? 'no expiry (never matches)' : 'never', 80),
    fact('Changed by', payload.actor, L.text),
    fact('Reason', payload.reason, L.text * 2),
    fact('Time', formatTime(payload.at), 80),
  );
  if (payload.override) {
    const o = payload.override;
    facts.push(
      fact('Confirmed as broad', `${o.confirmed.join(', ')}: would have hidden ${o.matched} of ${o.total} recent findings (${o.chains} in chains, ${o.high} in HIGH incidents)`, L.text * 2, {
        color: 'Attention',
      }),
    );
  }
  const body: CardElement[] = [
    {
      type: 'Container',
      style: payload.override ? 'attention' : 'accent',
      bleed: true,
      items: [label(ALLOWLIST_ACTION_LABEL[payload.action] ?? 'Allowlist changed', { weight: 'Bolder', size: 'Medium' })],
    },
    { type: 'Container', spacing: 'Medium', items: facts },
  ];
  const changes = payload.action === 'updated' ? (payload.changes ?? []).slice(0, L.items) : [];
  if (changes.length > 0) {
    const lines: CardElement[] = [label('Changes', { weight: 'Bolder' })];
    for (const c of changes) {
      lines.push(
        rich([staticRun(`${changeLabel(c.field)}: `, { weight: 'Bolder' }), run(c.before ?? '(none)', L.text, { fontType: 'Monospace' }), staticRun(' → '), run(c.after ?? '(none)', L.text, { fontType: 'Monospace' })]),
      );
    }
    body.push({ type: 'Container', spacing: 'Medium', separator: true, items: lines });
  }
  return card(body, []);
}

// ---------------------------------------------------------------------------------------------
// Budgeted build

function renderAt(message: NotificationMessage, level: number): AdaptiveCard {
  switch (message.kind) {
    case 'incident':
      return incidentCard(message.payload, level);
    case 'digest':
      return digestCard(message.payload, level);
    case 'health':
      return healthCard(message.payload, level);
    case 'allowlist-change':
      return allowlistChangeCard(message.payload, level);
  }
}

function levelCount(message: NotificationMessage): number {
  return message.kind === 'incident' ? INCIDENT_LEVELS.length : COMPACT_LEVELS.length;
}

/**
 * The Workflows payload for a message, at the most detailed level that fits `maxBytes`. Throws
 * only if even the last level does not fit, which the level caps make impossible for the
 * default budget (the fuzz test checks this).
 */
export function buildTeamsPayload(message: NotificationMessage, options: { maxBytes?: number } = {}): BuiltTeamsPayload {
  const maxBytes = options.maxBytes ?? TEAMS_CARD_MAX_BYTES;
  const levels = levelCount(message);
  for (let level = 0; level < levels; level++) {
    const payload = wrapTeamsPayload(renderAt(message, level));
    const bytes = payloadBytes(payload);
    if (bytes < maxBytes) return { payload, bytes, level };
  }
  throw new Error(`the ${message.kind} card for ${message.notificationId} does not fit ${maxBytes} bytes`);
}

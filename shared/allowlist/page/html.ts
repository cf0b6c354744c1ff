/**
 * The allowlist page's HTML, rendered on the server from plain data: the list, one entry (with its
 * history and what it suppressed), and the "new from an incident" form. Every value passes through
 * `esc` (telemetry and entry text are the attacker's), data for the script sits in
 * `<script type="application/json">` blocks that are never executed, and the only executable
 * script and style come from this app's own routes, which the Content-Security-Policy enforces.
 */
import type { AuditRecord } from '../store';
import type { Breadth, Confirmation, RecentFinding } from '../breadth';
import { CONFIRMATIONS } from '../breadth';
import { entryDiff } from '../diff';
import type { AllowlistEntry } from '../entry';
import { CONDITION_FIELDS, isEntryActive } from '../entry';
import { CONDITION_LABELS } from '../labels';
import type { Proposal } from './proposal';

export const PAGE_BASE = '/allowlist';
export const SCRIPT_PATH = `${PAGE_BASE}/assets/page.js`;
export const STYLE_PATH = `${PAGE_BASE}/assets/page.css`;

/** No inline script or style, no framing, requests only to this origin. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

const DAY_MS = 86_400_000;
/** Entries expiring within this many days are counted at the top of the list. */
export const EXPIRING_DAYS = 14;

export function esc(value: string | number | boolean | null | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON inside a non-executed script block: nothing in it can end the element or open markup. */
export function jsonBlock(id: string, value: unknown): string {
  const json = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `<script type="application/json" id="${esc(id)}">${json}</script>`;
}

export interface Viewer {
  name: string;
  canWrite: boolean;
  canPermanent: boolean;
}

export function layout(title: string, viewer: Viewer | null, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · codesign-hunt allowlist</title>
<link rel="stylesheet" href="${STYLE_PATH}">
<script src="${SCRIPT_PATH}" defer></script>
</head>
<body>
<header class="top"><a class="home" href="${PAGE_BASE}">Allowlist</a>${viewer ? `<span class="who">Signed in as <strong>${esc(viewer.name)}</strong>${viewer.canWrite ? '' : ' (read only)'}</span>` : ''}</header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

export function messagePage(title: string, message: string): string {
  return layout(title, null, `<h1>${esc(title)}</h1><p>${esc(message)}</p>`);
}

export type EntryStatus = 'active' | 'expiring' | 'expired' | 'disabled' | 'deleted' | 'invalid';

export function entryStatus(entry: AllowlistEntry, now: Date): EntryStatus {
  if (entry.deleted) return 'deleted';
  if (!entry.enabled) return 'disabled';
  if (entry.expiresAt === null) return entry.permanent ? 'active' : 'invalid';
  if (!isEntryActive(entry, now)) return 'expired';
  return Date.parse(entry.expiresAt) - now.getTime() <= EXPIRING_DAYS * DAY_MS ? 'expiring' : 'active';
}

/** "expires in 3 days", "expired 2 days ago", "never expires". */
export function expiryText(entry: AllowlistEntry, now: Date): string {
  if (entry.expiresAt === null) return entry.permanent ? 'never expires (permanent)' : 'no expiry: never matches';
  const ms = Date.parse(entry.expiresAt) - now.getTime();
  const days = Math.round(Math.abs(ms) / DAY_MS);
  const span = days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'}`;
  if (ms <= 0) return days === 0 ? 'expired today' : `expired ${span} ago`;
  return days === 0 ? 'expires today' : `expires in ${span}`;
}

function conditionsList(entry: Pick<AllowlistEntry, 'conditions'>): string {
  const items = CONDITION_FIELDS.filter((f) => entry.conditions[f] !== undefined).map(
    (f) => `<li><span class="k">${esc(CONDITION_LABELS[f])}</span> <code>${esc(entry.conditions[f])}</code></li>`,
  );
  return `<ul class="conditions">${items.join('')}</ul>`;
}

function scopeText(entry: Pick<AllowlistEntry, 'scope'>): string {
  return entry.scope === 'global' ? 'global' : `tenant ${entry.scope.tenantId}`;
}

function time(iso: string | null): string {
  if (!iso) return '—';
  return `<time datetime="${esc(iso)}">${esc(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))}</time>`;
}

// ---------------------------------------------------------------------------------------------
// List

export interface ListQuery {
  status: 'all' | EntryStatus | 'current';
  tenant: string;
  owner: string;
  q: string;
  sort: 'expires' | 'updated' | 'hits' | 'lastHit' | 'owner' | 'id';
  order: 'asc' | 'desc';
}

export const SORTS: ListQuery['sort'][] = ['expires', 'updated', 'hits', 'lastHit', 'owner', 'id'];
const STATUSES: ListQuery['status'][] = ['current', 'all', 'active', 'expiring', 'expired', 'disabled', 'deleted', 'invalid'];

export function parseListQuery(query: URLSearchParams): ListQuery {
  const pick = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T => (allowed.includes(value as T) ? (value as T) : fallback);
  return {
    status: pick(query.get('status'), STATUSES, 'current'),
    tenant: (query.get('tenant') ?? '').slice(0, 128),
    owner: (query.get('owner') ?? '').slice(0, 256),
    q: (query.get('q') ?? '').slice(0, 256),
    sort: pick(query.get('sort'), SORTS, 'expires'),
    order: pick(query.get('order'), ['asc', 'desc'] as const, 'asc'),
  };
}

function searchText(entry: AllowlistEntry): string {
  return [entry.id, entry.owner, entry.reason, entry.createdBy, entry.updatedBy, ...Object.values(entry.conditions)].join('\n').toLowerCase();
}

export function filterEntries(entries: readonly AllowlistEntry[], query: ListQuery, now: Date): AllowlistEntry[] {
  const q = query.q.trim().toLowerCase();
  const out = entries.filter((e) => {
    const status = entryStatus(e, now);
    if (query.status === 'current' ? status === 'deleted' : query.status !== 'all' && status !== query.status) return false;
    if (query.tenant && (e.scope === 'global' ? 'global' : e.scope.tenantId).toLowerCase() !== query.tenant.toLowerCase()) return false;
    if (query.owner && !e.owner.toLowerCase().includes(query.owner.toLowerCase())) return false;
    return !q || searchText(e).includes(q);
  });
  const key = (e: AllowlistEntry): string | number => {
    switch (query.sort) {
      case 'expires':
        return e.expiresAt ?? '9999';
      case 'updated':
        return e.updatedAt;
      case 'hits':
        return e.hitCount;
      case 'lastHit':
        return e.lastHitAt ?? '';
      case 'owner':
        return e.owner.toLowerCase();
      case 'id':
        return e.id;
    }
  };
  const sign = query.order === 'asc' ? 1 : -1;
  return out.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * sign || a.id.localeCompare(b.id);
  });
}

function option(value: string, label: string, selected: string): string {
  return `<option value="${esc(value)}"${value === selected ? ' selected' : ''}>${esc(label)}</option>`;
}

export function renderList(all: readonly AllowlistEntry[], query: ListQuery, viewer: Viewer, now: Date): string {
  const shown = filterEntries(all, query, now);
  const expiring = all.filter((e) => entryStatus(e, now) === 'expiring').length;
  const tenants = [...new Set(all.map((e) => (e.scope === 'global' ? 'global' : e.scope.tenantId)))].sort();
  const rows = shown.map((e) => {
    const status = entryStatus(e, now);
    return `<tr class="status-${status}">
<td data-label="Entry"><a href="${PAGE_BASE}/${encodeURIComponent(e.id)}">${esc(e.id)}</a><div class="small">${esc(scopeText(e))}</div></td>
<td data-label="Conditions">${conditionsList(e)}</td>
<td data-label="Owner">${esc(e.owner)}<div class="small">${esc(e.reason)}</div></td>
<td data-label="Status"><span class="badge badge-${status}">${esc(status)}</span><div class="small">${esc(expiryText(e, now))}</div></td>
<td data-label="Hits">${esc(e.hitCount)}<div class="small">last ${time(e.lastHitAt)}</div></td>
<td data-label="Changed">${esc(e.updatedBy)}<div class="small">${time(e.updatedAt)}</div></td>
</tr>`;
  });
  const statusOptions = STATUSES.map((s) => option(s, s === 'current' ? 'current (not deleted)' : s, query.status)).join('');
  return layout(
    'Entries',
    viewer,
    `<h1>Allowlist entries</h1>
<p class="summary" role="status"><strong id="expiring-count">${expiring}</strong> entr${expiring === 1 ? 'y expires' : 'ies expire'} within ${EXPIRING_DAYS} days · ${all.filter((e) => !e.deleted).length} entries in total</p>
<form class="filters" method="get" action="${PAGE_BASE}" role="search" aria-label="Filter entries">
<label>Status <select name="status">${statusOptions}</select></label>
<label>Tenant <select name="tenant">${option('', 'any', query.tenant)}${tenants.map((t) => option(t, t, query.tenant)).join('')}</select></label>
<label>Owner <input name="owner" value="${esc(query.owner)}" autocomplete="off"></label>
<label>Search <input name="q" type="search" value="${esc(query.q)}" autocomplete="off"></label>
<label>Sort <select name="sort">${SORTS.map((s) => option(s, s, query.sort)).join('')}</select></label>
<label>Order <select name="order">${option('asc', 'ascending', query.order)}${option('desc', 'descending', query.order)}</select></label>
<button type="submit">Apply</button>
</form>
<div class="table-wrap"><table class="entries">
<caption>${shown.length} of ${all.length} entries</caption>
<thead><tr><th scope="col">Entry</th><th scope="col">Conditions</th><th scope="col">Owner and reason</th><th scope="col">Status</th><th scope="col">Hits</th><th scope="col">Last change</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="6">No entries match.</td></tr>'}</tbody>
</table></div>`,
  );
}

// ---------------------------------------------------------------------------------------------
// Findings and history

function findingRows(findings: readonly RecentFinding[]): string {
  if (findings.length === 0) return '<p>None in the look-back.</p>';
  const rows = findings.map(
    (r) => `<tr>
<td data-label="Time">${time(r.finding.timestamp)}</td>
<td data-label="Device">${esc(r.finding.device.name)}</td>
<td data-label="Subject"><code>${esc(r.finding.certificate.subject ?? '—')}</code></td>
<td data-label="Command line"><code class="cmd">${esc(r.finding.commandLine.slice(0, 300))}</code></td>
<td data-label="Incident">${r.incident ? `${esc(r.incident.severity)}${r.incident.chain ? ' · chain' : ''}` : 'suppressed'}</td>
</tr>`,
  );
  return `<div class="table-wrap"><table class="findings"><thead><tr><th scope="col">Time</th><th scope="col">Device</th><th scope="col">Subject</th><th scope="col">Command line</th><th scope="col">Incident</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function historyList(history: readonly AuditRecord[]): string {
  const items = history.map((r) => {
    const changes = entryDiff(r.before, r.after)
      .filter((c) => r.action !== 'create' || c.after !== null)
      .map((c) => `<li><span class="k">${esc(c.field)}</span> <code>${esc(c.before ?? '(none)')}</code> → <code>${esc(c.after ?? '(none)')}</code></li>`)
      .join('');
    const override = r.override
      ? `<p class="warn">Confirmed as ${esc(r.override.confirmed.join(' and '))} by ${esc(r.override.by)}: would have hidden ${esc(r.override.matched)} of ${esc(r.override.total)} recent findings (${esc(r.override.chains)} in chains).</p>`
      : '';
    return `<li class="audit audit-${esc(r.status)}"><p><strong>${esc(r.action)}</strong> by ${esc(r.actor)} · ${time(r.at)} · ${esc(r.status)}</p><p class="small">Reason: ${esc(r.reason)}</p>${override}<ul class="diff">${changes}</ul></li>`;
  });
  return `<ol class="history">${items.join('')}</ol>`;
}

// ---------------------------------------------------------------------------------------------
// Breadth confirmations (the new-entry form and an entry's changes)

const CONFIRMATION_LABELS: Record<Confirmation, string> = {
  broad: 'I confirm: it hides a large share of recent findings.',
  chain: 'I confirm: it hides findings of a chain (certificate created and then used).',
};

/**
 * One checkbox per kind the API may ask to confirm (shared/allowlist/breadth.ts), hidden until the
 * script shows the kinds a draft or a refused change needs and writes, as text, into each
 * `confirm-<kind>-figures` what it would suppress (the checkbox is described by it).
 */
function confirmationsFieldset(legend: string): string {
  const rows = CONFIRMATIONS.map(
    (kind) =>
      `<div class="check" id="confirm-${esc(kind)}-row" hidden><input type="checkbox" id="confirm-${esc(kind)}" name="confirm" value="${esc(kind)}" aria-describedby="confirm-${esc(kind)}-figures"><div><label for="confirm-${esc(kind)}">${esc(CONFIRMATION_LABELS[kind])} My confirmation is recorded in the audit trail.</label><p class="small confirm-figures" id="confirm-${esc(kind)}-figures"></p></div></div>`,
  );
  return `<fieldset id="confirmations" hidden><legend>${esc(legend)}</legend>\n${rows.join('\n')}\n</fieldset>`;
}

// ---------------------------------------------------------------------------------------------
// Entry

export function renderEntry(entry: AllowlistEntry, history: readonly AuditRecord[], suppressed: readonly RecentFinding[], lookbackDays: number, viewer: Viewer, now: Date): string {
  const status = entryStatus(entry, now);
  const writable = viewer.canWrite && !entry.deleted;
  const actions = writable
    ? `<section aria-labelledby="actions-h" class="actions">
<h2 id="actions-h">Change this entry</h2>
<p class="small">Every change is audited and announced. It is refused if someone changed the entry after you opened this page.</p>
<form id="action-form" class="action-form" novalidate>
<label for="action-reason">Reason for the change (required)</label>
<textarea id="action-reason" name="reason" required maxlength="1000" rows="2"></textarea>
${confirmationsFieldset('This change needs your confirmation')}
<fieldset><legend>Extend</legend>
<label for="extend-to">New expiry date</label>
<input id="extend-to" name="expiresAt" type="date">
<button type="button" data-action="extend">Extend</button>
</fieldset>
<div class="buttons">
<button type="button" data-action="${entry.enabled ? 'disable' : 'enable'}">${entry.enabled ? 'Disable' : 'Enable'}</button>
<button type="button" data-action="delete" class="danger">Delete</button>
</div>
</form>
<div id="action-status" role="status" aria-live="polite"></div>
<div id="conflict" class="conflict" hidden tabindex="-1"></div>
</section>`
    : '';
  return layout(
    entry.id,
    viewer,
    `<p><a href="${PAGE_BASE}">← All entries</a></p>
<h1>Entry <code>${esc(entry.id)}</code> <span class="badge badge-${status}">${esc(status)}</span></h1>
<dl class="facts">
<dt>Conditions</dt><dd>${conditionsList(entry)}</dd>
<dt>Scope</dt><dd>${esc(scopeText(entry))}</dd>
<dt>Owner</dt><dd>${esc(entry.owner)}</dd>
<dt>Reason</dt><dd>${esc(entry.reason)}</dd>
<dt>Expiry</dt><dd>${time(entry.expiresAt)} <span class="small">${esc(expiryText(entry, now))}</span></dd>
<dt>Enabled</dt><dd>${entry.enabled ? 'yes' : 'no'}</dd>
<dt>Hits</dt><dd>${esc(entry.hitCount)} (last ${time(entry.lastHitAt)})</dd>
<dt>Created</dt><dd>${esc(entry.createdBy)} · ${time(entry.createdAt)}</dd>
<dt>Updated</dt><dd>${esc(entry.updatedBy)} · ${time(entry.updatedAt)}</dd>
</dl>
${actions}
<section aria-labelledby="suppressed-h"><h2 id="suppressed-h">Suppressed in the last ${esc(lookbackDays)} days</h2>${findingRows(suppressed)}</section>
<section aria-labelledby="history-h"><h2 id="history-h">History</h2>${historyList(history)}</section>
${jsonBlock('entry-data', { entry, etag: entry.etag, writable })}`,
  );
}

// ---------------------------------------------------------------------------------------------
// New from an incident

export interface NewPageModel {
  incidentId: string | null;
  proposal: Proposal | null;
  maxLifetimeDays: number;
  defaultExpiry: string;
  lookbackDays: number;
  breadth: Breadth | null;
}

function conditionInputs(values: Partial<Record<string, string>>, disabled: boolean): string {
  return CONDITION_FIELDS.map(
    (f) => `<div class="field"><label for="c-${f}">${esc(CONDITION_LABELS[f])}</label><input id="c-${f}" name="${f}" data-condition="${f}" value="${esc(values[f] ?? '')}" autocomplete="off" spellcheck="false"${disabled ? ' disabled' : ''}><div class="field-error" id="e-conditions.${f}" role="alert"></div></div>`,
  ).join('');
}

export function renderNew(model: NewPageModel, viewer: Viewer): string {
  const p = model.proposal;
  const incident = p
    ? `<section aria-labelledby="incident-h" class="incident"><h2 id="incident-h">Incident</h2>
<dl class="facts">
<dt>Incident</dt><dd><code>${esc(p.incident.id)}</code></dd>
<dt>Severity</dt><dd>${esc(p.incident.severity ?? '—')}${p.incident.chain ? ' · chain' : ''}</dd>
<dt>Device</dt><dd>${esc(p.incident.device)}</dd>
<dt>Signer subject</dt><dd><code>${esc(p.incident.subject ?? '—')}</code></dd>
<dt>Thumbprint</dt><dd><code>${esc(p.incident.thumbprint ?? '—')}</code></dd>
<dt>Findings</dt><dd>${esc(p.incident.findings)} between ${time(p.incident.firstSeen)} and ${time(p.incident.lastSeen)}</dd>
</dl>
<ul class="notes">${p.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`
    : model.incidentId
      ? `<p class="warn" role="alert">Incident <code>${esc(model.incidentId)}</code> is not among the findings of the last ${esc(model.lookbackDays)} days; describe the entry yourself.</p>`
      : '';
  const tenant = p && p.scope !== 'global' ? p.scope.tenantId : '';
  const disabled = !viewer.canWrite;
  const form = `<form id="entry-form" class="entry-form" novalidate>
<fieldset><legend>Conditions (all must hold)</legend>
<p class="small">Exact values, case-insensitive, or globs with * and ?. A subject or file needs a device, parent process or thumbprint beside it.</p>
${conditionInputs(p?.conditions ?? {}, disabled)}
<div class="field-error" id="e-conditions" role="alert"></div>
</fieldset>
<div class="field"><label for="f-tenant">Tenant scope (empty = every tenant)</label><input id="f-tenant" name="tenant" value="${esc(tenant)}" autocomplete="off"${disabled ? ' disabled' : ''}><div class="field-error" id="e-scope" role="alert"></div></div>
<div class="field"><label for="f-owner">Owner (who answers for it, required)</label><input id="f-owner" name="owner" required maxlength="256" autocomplete="off"${disabled ? ' disabled' : ''}><div class="field-error" id="e-owner" role="alert"></div></div>
<div class="field"><label for="f-reason">Why is this benign? (required)</label><textarea id="f-reason" name="reason" required maxlength="1000" rows="3"${disabled ? ' disabled' : ''}></textarea><div class="field-error" id="e-reason" role="alert"></div></div>
<div class="field"><label for="f-expires">Expires (required, at most ${esc(model.maxLifetimeDays)} days ahead)</label><input id="f-expires" name="expiresAt" type="date" required value="${esc(model.defaultExpiry.slice(0, 10))}" data-max-days="${esc(model.maxLifetimeDays)}"${disabled ? ' disabled' : ''}><div class="field-error" id="e-expiresAt" role="alert"></div></div>
<section id="preview" aria-labelledby="preview-h" class="preview"><h2 id="preview-h">What this entry would have suppressed</h2>
<p class="small">Over the stored findings of the last ${esc(model.lookbackDays)} days. Updated as you edit the conditions.</p>
<div id="preview-result" role="status" aria-live="polite">Calculating…</div>
<div id="preview-sample"></div>
</section>
${confirmationsFieldset('This entry is broad')}
${viewer.canWrite ? '<button type="submit" id="save">Save entry</button>' : '<p class="warn">You can see this proposal, but creating an entry needs the Allowlist.Write role.</p>'}
<div id="form-status" role="status" aria-live="polite"></div>
</form>`;
  return layout(
    'New entry',
    viewer,
    `<p><a href="${PAGE_BASE}">← All entries</a></p>
<h1>New allowlist entry${p ? ' from an incident' : ''}</h1>
${incident}
${form}
${jsonBlock('new-data', { incidentId: model.incidentId, maxLifetimeDays: model.maxLifetimeDays, canWrite: viewer.canWrite })}`,
  );
}

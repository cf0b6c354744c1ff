/// <reference lib="dom" />
/**
 * The allowlist page's one script and its style sheet, served from this app's own routes (the CSP
 * allows `script-src 'self'` and nothing inline). The script only adds what HTML cannot do safely:
 * JSON requests with the `X-Allowlist-Client` header and If-Match, the live preview, the breadth
 * confirmations a broad entry or change needs, and showing conflicts. It writes every value with
 * textContent, never as markup.
 *
 * `pageClient` is self-contained (it is served as its own source text), so it may use nothing
 * from this module's scope.
 */

export function pageClient(): void {
  type Json = Record<string, unknown>;
  interface Answer {
    status: number;
    json: Json;
  }
  const CLIENT_HEADER = 'X-Allowlist-Client';
  /** Text of a JSON value as shown to the reader. */
  const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null || v === undefined ? '' : JSON.stringify(v));

  const byId = (id: string): HTMLElement | null => document.getElementById(id);
  const data = (id: string): Json | null => {
    const node = byId(id);
    if (!node?.textContent) return null;
    try {
      return JSON.parse(node.textContent) as Json;
    } catch {
      return null;
    }
  };
  const el = (tag: string, text?: string, className?: string): HTMLElement => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };
  const clear = (node: HTMLElement | null): void => {
    if (node) while (node.firstChild) node.removeChild(node.firstChild);
  };
  const say = (node: HTMLElement | null, text: string, kind: 'ok' | 'error' | 'info' = 'info'): void => {
    if (!node) return;
    clear(node);
    node.appendChild(el('p', text, `msg msg-${kind}`));
  };

  async function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json', [CLIENT_HEADER]: 'allowlist-page', ...headers } };
    if (body !== undefined) {
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let json: Json = {};
    try {
      json = (await response.json()) as Json;
    } catch {
      json = {};
    }
    return { status: response.status, json };
  }

  const errorsOf = (answer: Answer): { field: string; message: string }[] => {
    const list = answer.json.errors;
    return Array.isArray(list) ? (list as { field: string; message: string }[]) : [];
  };

  const describeErrors = (answer: Answer): string =>
    errorsOf(answer)
      .map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
      .join('; ') || `The server answered ${answer.status}.`;

  /** `YYYY-MM-DD` from a date input → the start of that day, UTC. */
  const dayToIso = (day: string): string | null => (/^\d{4}-\d{2}-\d{2}$/.test(day) ? `${day}T00:00:00.000Z` : null);

  /** A count from a breadth answer (0 when absent). */
  const count = (breadth: Json, key: string): number => (typeof breadth[key] === 'number' ? (breadth[key]) : 0);
  const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

  // -------------------------------------------------------------------------------------------
  // Breadth confirmations (#confirmations, on the new-entry form and an entry's actions)

  /** What a kind of confirmation is about, from the figures the server measured. */
  const confirmationFigures = (breadth: Json, kind: string): string => {
    if (kind === 'broad') {
      const pct = Math.round(count(breadth, 'share') * 1000) / 10;
      return `It would have suppressed ${count(breadth, 'matched')} of ${count(breadth, 'total')} findings (${pct}%) of the last ${plural(count(breadth, 'lookbackDays'), 'day', 'days')}, on ${plural(count(breadth, 'devices'), 'device', 'devices')}, ${count(breadth, 'high')} of them in HIGH incidents; the limit is ${Math.round(count(breadth, 'maxShare') * 1000) / 10}%.`;
    }
    return `It would have suppressed ${plural(count(breadth, 'chains'), 'finding', 'findings')} that belong to chain incidents.`;
  };

  /** Shows the kinds the breadth needs confirmed, each with its figures; returns those kinds. */
  const showConfirmations = (breadth: Json | null): string[] => {
    const needs = breadth && Array.isArray(breadth.needsConfirmation) ? (breadth.needsConfirmation as unknown[]).filter((k): k is string => typeof k === 'string') : [];
    const fieldset = byId('confirmations');
    if (fieldset) fieldset.hidden = needs.length === 0;
    for (const kind of ['broad', 'chain']) {
      const row = byId(`confirm-${kind}-row`);
      if (row) row.hidden = !needs.includes(kind);
      const figures = byId(`confirm-${kind}-figures`);
      if (figures) figures.textContent = breadth && needs.includes(kind) ? confirmationFigures(breadth, kind) : '';
    }
    return needs;
  };

  /** The ticked confirmations among those shown. */
  const tickedConfirmations = (): string[] =>
    Array.from(document.querySelectorAll<HTMLInputElement>('#confirmations input[name="confirm"]'))
      .filter((c) => c.checked && !(c.closest('[hidden]') ?? null))
      .map((c) => c.value);

  const CONFIRMATION_NAMES: Record<string, string> = { broad: 'it hides a large share of recent findings', chain: 'it hides findings of a chain' };

  // -------------------------------------------------------------------------------------------
  // Entry page: extend, disable/enable, delete, conflicts

  const entryData = data('entry-data');
  if (entryData && entryData.writable === true) {
    const entry = entryData.entry as Json & { id: string; conditions: Json; scope: unknown; owner: string; reason: string; expiresAt: string | null; permanent: boolean; enabled: boolean };
    const etag = text(entryData.etag);
    const status = byId('action-status');
    const conflict = byId('conflict');
    const reasonBox = byId('action-reason') as HTMLTextAreaElement | null;
    /** The action the shown confirmations belong to: only its next click sends them. */
    let confirming: string | null = null;
    const dropConfirmations = (): void => {
      confirming = null;
      for (const box of Array.from(document.querySelectorAll<HTMLInputElement>('#confirmations input[name="confirm"]'))) box.checked = false;
      showConfirmations(null);
    };

    const showConflict = async (): Promise<void> => {
      const current = await api('GET', `/api/allowlist/${encodeURIComponent(entry.id)}`);
      if (!conflict) return;
      clear(conflict);
      conflict.hidden = false;
      conflict.appendChild(el('h3', 'Someone changed this entry after you opened it'));
      if (current.status !== 200) {
        conflict.appendChild(el('p', 'It was deleted meanwhile.'));
      } else {
        const now = current.json as typeof entry & { updatedBy: string; updatedAt: string };
        conflict.appendChild(el('p', `Changed by ${now.updatedBy} at ${now.updatedAt}. Nothing of yours was saved. What changed meanwhile:`));
        const list = el('ul', undefined, 'diff');
        const fields: [string, unknown, unknown][] = [
          ['enabled', entry.enabled, now.enabled],
          ['expiresAt', entry.expiresAt, now.expiresAt],
          ['owner', entry.owner, now.owner],
          ['reason', entry.reason, now.reason],
        ];
        const keys = new Set([...Object.keys(entry.conditions ?? {}), ...Object.keys(now.conditions ?? {})]);
        for (const key of keys) fields.push([`conditions.${key}`, entry.conditions[key], now.conditions[key]]);
        for (const [field, was, is] of fields) {
          if (JSON.stringify(was ?? null) === JSON.stringify(is ?? null)) continue;
          const item = el('li');
          item.appendChild(el('span', `${field}: `, 'k'));
          item.appendChild(el('code', was === undefined || was === null ? '(none)' : text(was)));
          item.appendChild(document.createTextNode(' → '));
          item.appendChild(el('code', is === undefined || is === null ? '(none)' : text(is)));
          list.appendChild(item);
        }
        conflict.appendChild(list);
      }
      const reload = el('a', 'Reload the entry and decide again') as HTMLAnchorElement;
      reload.href = window.location.pathname;
      conflict.appendChild(reload);
      conflict.focus();
    };

    const change = async (action: string, label: string): Promise<void> => {
      const reason = reasonBox?.value.trim() ?? '';
      if (!reason) {
        say(status, 'Give a reason for the change: it goes into the audit trail.', 'error');
        reasonBox?.focus();
        return;
      }
      // Confirmations answer the refusal of one action; another action starts afresh.
      const confirm = confirming === action ? tickedConfirmations() : [];
      if (confirming !== action) dropConfirmations();
      const headers = { 'If-Match': etag, 'X-Change-Reason': reason };
      let answer: Answer;
      if (action === 'delete') {
        answer = await api('DELETE', `/api/allowlist/${encodeURIComponent(entry.id)}`, undefined, headers);
      } else {
        const body: Json = {
          id: entry.id,
          conditions: entry.conditions,
          scope: entry.scope,
          owner: entry.owner,
          reason: entry.reason,
          enabled: action === 'enable' ? true : action === 'disable' ? false : entry.enabled,
        };
        if (action === 'extend') {
          const day = (byId('extend-to') as HTMLInputElement | null)?.value ?? '';
          const iso = dayToIso(day);
          if (!iso) {
            say(status, 'Choose the new expiry date.', 'error');
            byId('extend-to')?.focus();
            return;
          }
          body.expiresAt = iso;
        } else if (entry.permanent) body.permanent = true;
        else body.expiresAt = entry.expiresAt;
        if (confirm.length > 0) body.confirm = confirm;
        answer = await api('PUT', `/api/allowlist/${encodeURIComponent(entry.id)}`, body, headers);
      }
      const breadth = answer.status === 422 && typeof answer.json.breadth === 'object' && answer.json.breadth !== null ? (answer.json.breadth as Json) : null;
      const needs = breadth ? showConfirmations(breadth) : [];
      if (answer.status === 200) {
        say(status, 'Saved.', 'ok');
        window.location.assign(action === 'delete' ? '/allowlist' : window.location.pathname);
      } else if (answer.status === 412) {
        say(status, 'Not saved: the entry changed meanwhile.', 'error');
        await showConflict();
      } else if (needs.length > 0) {
        confirming = action;
        const unticked = needs.filter((k) => !confirm.includes(k));
        const missing = unticked.length > 0 ? unticked : needs;
        say(status, `Not saved: this change needs your confirmation that ${missing.map((k) => CONFIRMATION_NAMES[k] ?? k).join(', and that ')}. Tick ${missing.length === 1 ? 'it' : 'them'} below and choose ${label} again.`, 'error');
        const boxes = Array.from(document.querySelectorAll<HTMLInputElement>('#confirmations input[name="confirm"]')).filter((c) => !c.closest('[hidden]'));
        (boxes.find((c) => !c.checked) ?? boxes[0])?.focus();
      } else {
        say(status, `Not saved: ${describeErrors(answer)}`, 'error');
      }
    };

    for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-action]'))) {
      button.addEventListener('click', () => {
        const action = button.dataset.action ?? '';
        button.disabled = true;
        change(action, (button.textContent ?? action).trim())
          .catch((error: unknown) => say(status, `Not saved: ${String(error)}`, 'error'))
          .finally(() => {
            button.disabled = false;
          });
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // New entry: preview, confirmations, save

  const newData = data('new-data');
  const form = byId('entry-form') as HTMLFormElement | null;
  if (newData && form) {
    const result = byId('preview-result');
    const sample = byId('preview-sample');
    const formStatus = byId('form-status');
    const value = (id: string): string => ((byId(id) as HTMLInputElement | HTMLTextAreaElement | null)?.value ?? '').trim();

    const draft = (): Json => {
      const conditions: Json = {};
      for (const input of Array.from(form.querySelectorAll<HTMLInputElement>('input[data-condition]'))) {
        const v = input.value.trim();
        if (v) conditions[input.dataset.condition ?? ''] = v;
      }
      const tenant = value('f-tenant');
      return { conditions, scope: tenant ? { tenantId: tenant } : 'global' };
    };

    const showFieldErrors = (errors: { field: string; message: string }[]): void => {
      for (const node of Array.from(form.querySelectorAll<HTMLElement>('.field-error'))) node.textContent = '';
      for (const e of errors) {
        const target = byId(`e-${e.field}`) ?? byId(`e-${e.field.split('.')[0] ?? ''}`);
        if (target) target.textContent = e.message;
      }
    };

    const showBreadth = (breadth: Json | null): void => {
      clear(result);
      clear(sample);
      showConfirmations(breadth);
      if (!breadth) {
        result?.appendChild(el('p', 'No preview: stored findings are not available.'));
        return;
      }
      const n = (k: string): number => count(breadth, k);
      const pct = Math.round(n('share') * 1000) / 10;
      result?.appendChild(
        el('p', `Would have suppressed ${n('matched')} of ${n('total')} findings (${pct}%) on ${n('devices')} device${n('devices') === 1 ? '' : 's'}; ${n('high')} in HIGH incidents; ${n('chains')} in chains.`, n('matched') > 0 && (n('chains') > 0 || n('high') > 0) ? 'msg msg-error' : 'msg msg-info'),
      );
      const rows = Array.isArray(breadth.sample) ? (breadth.sample as Json[]) : [];
      if (rows.length > 0 && sample) {
        const table = el('table', undefined, 'findings');
        table.appendChild(el('caption', `Matched findings (${rows.length} most recent shown)`));
        const head = el('tr');
        for (const h of ['Time', 'Device', 'Subject', 'Command line', 'Incident']) {
          const th = el('th', h);
          th.setAttribute('scope', 'col');
          head.appendChild(th);
        }
        const thead = el('thead');
        thead.appendChild(head);
        table.appendChild(thead);
        const body = el('tbody');
        for (const row of rows) {
          const f = (row.finding ?? {}) as Json & { device?: Json; certificate?: Json };
          const incident = row.incident as Json | null;
          const tr = el('tr');
          const cells: [string, string][] = [
            ['Time', text(f.timestamp)],
            ['Device', text(f.device?.name)],
            ['Subject', text(f.certificate?.subject) || '—'],
            ['Command line', text(f.commandLine).slice(0, 200)],
            ['Incident', incident ? `${text(incident.severity)}${incident.chain === true ? ' · chain' : ''}` : 'already suppressed'],
          ];
          for (const [label, value] of cells) {
            const td = el('td', value);
            td.dataset.label = label;
            tr.appendChild(td);
          }
          body.appendChild(tr);
        }
        table.appendChild(body);
        const wrap = el('div', undefined, 'table-wrap');
        wrap.appendChild(table);
        sample.appendChild(wrap);
      }
    };

    let timer: number | undefined;
    let sequence = 0;
    const preview = async (): Promise<void> => {
      const mine = ++sequence;
      const answer = await api('POST', '/api/allowlist-preview', draft());
      if (mine !== sequence) return; // a newer edit is on its way
      if (answer.status !== 200) {
        say(result, `No preview: ${describeErrors(answer)}`, 'error');
        return;
      }
      showFieldErrors(errorsOf(answer));
      if (errorsOf(answer).length > 0) {
        say(result, 'Fix the conditions to see what they would suppress.', 'error');
        clear(sample);
        return;
      }
      showBreadth((answer.json.breadth as Json | null) ?? null);
    };
    const schedule = (): void => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void preview(), 300);
    };
    for (const input of Array.from(form.querySelectorAll<HTMLInputElement>('input[data-condition], #f-tenant'))) input.addEventListener('input', schedule);
    void preview();

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (newData.canWrite !== true) return;
      const body: Json = { ...draft(), owner: value('f-owner'), reason: value('f-reason'), enabled: true };
      const missing: { field: string; message: string }[] = [];
      if (!body.owner) missing.push({ field: 'owner', message: 'Who answers for this entry?' });
      if (!body.reason) missing.push({ field: 'reason', message: 'Why is this benign?' });
      const expires = dayToIso(value('f-expires'));
      if (!expires) missing.push({ field: 'expiresAt', message: 'Choose an expiry date.' });
      else body.expiresAt = expires;
      if (missing.length > 0) {
        showFieldErrors(missing);
        say(formStatus, 'Not saved: fill in the marked fields.', 'error');
        byId(missing[0]?.field === 'owner' ? 'f-owner' : missing[0]?.field === 'reason' ? 'f-reason' : 'f-expires')?.focus();
        return;
      }
      body.confirm = tickedConfirmations();
      const save = byId('save') as HTMLButtonElement | null;
      if (save) save.disabled = true;
      api('POST', '/api/allowlist', body, newData.incidentId ? { 'X-Change-Reason': `from incident ${text(newData.incidentId)}: ${text(body.reason)}` } : {})
        .then((answer) => {
          if (answer.status === 201) {
            say(formStatus, 'Saved.', 'ok');
            window.location.assign(`/allowlist/${encodeURIComponent(text(answer.json.id))}`);
            return;
          }
          showFieldErrors(errorsOf(answer));
          if (answer.status === 422) showBreadth((answer.json.breadth as Json | null) ?? null);
          say(formStatus, `Not saved: ${describeErrors(answer)}`, 'error');
        })
        .catch((error: unknown) => say(formStatus, `Not saved: ${String(error)}`, 'error'))
        .finally(() => {
          if (save) save.disabled = false;
        });
    });
  }
}

/**
 * The served script: the function's own text, called once. The bundler (esbuild, keepNames) may
 * wrap named functions in `__name(...)` calls; the script defines that helper itself so it stays
 * self-contained.
 */
export const PAGE_SCRIPT = `"use strict";\nvar __name = function (target) { return target; };\n(${pageClient.toString()})();\n`;

export const PAGE_STYLE = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #505050; --line: #c8c8c8; --accent: #0b5cad; --bad: #a4262c; --ok: #0e700e; --warn-bg: #fff4ce; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 "Segoe UI", system-ui, -apple-system, sans-serif; color: var(--fg); background: #fafafa; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .75rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
.top .home { font-weight: 600; color: var(--accent); text-decoration: none; }
.who { color: var(--muted); font-size: .9rem; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #ffbf47; outline-offset: 1px; }
code { font-family: Consolas, "Courier New", monospace; font-size: .9em; overflow-wrap: anywhere; white-space: pre-wrap; }
.small { font-size: .85rem; color: var(--muted); }
.summary { background: #fff; border: 1px solid var(--line); padding: .5rem .75rem; border-radius: 4px; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin: 1rem 0; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
input, select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid #767676; border-radius: 3px; background: #fff; color: var(--fg); max-width: 100%; }
button { font: inherit; padding: .45rem 1rem; border-radius: 3px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; min-height: 44px; }
button.danger { background: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .6; cursor: wait; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
caption { text-align: left; font-size: .85rem; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
th { background: #f0f0f0; font-weight: 600; }
.conditions, .diff, .notes { margin: 0; padding-left: 1rem; }
.k { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; }
.badge-active { color: var(--ok); } .badge-expiring { color: #8a5300; } .badge-expired, .badge-invalid, .badge-deleted { color: var(--bad); } .badge-disabled { color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; background: #fff; border: 1px solid var(--line); padding: .75rem; border-radius: 4px; }
.facts dt { font-weight: 600; } .facts dd { margin: 0; overflow-wrap: anywhere; }
.history { padding-left: 1.25rem; } .audit { margin-bottom: .75rem; } .audit p { margin: .1rem 0; }
.warn, .conflict { background: var(--warn-bg); border: 1px solid #8a5300; padding: .5rem .75rem; border-radius: 4px; }
.field { margin: .6rem 0; display: flex; flex-direction: column; gap: .2rem; }
.field input, .field textarea { width: 100%; }
.field-error { color: var(--bad); font-size: .9rem; min-height: 0; }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 1rem 0; background: #fff; }
legend { font-weight: 600; padding: 0 .25rem; }
.check { display: flex; gap: .5rem; align-items: flex-start; margin: .5rem 0; } .check input { width: 1.3rem; height: 1.3rem; }
.msg { margin: .5rem 0; padding: .4rem .6rem; border-radius: 3px; } .msg-error { background: #fde7e9; color: var(--bad); } .msg-ok { background: #dff6dd; color: var(--ok); } .msg-info { background: #eef4fb; }
.preview { background: #fff; border: 1px solid var(--line); padding: .5rem .75rem; border-radius: 4px; }
.action-form textarea { width: 100%; } .buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
.cmd { font-size: .8rem; }
[hidden] { display: none !important; }
@media (max-width: 640px) {
  main { padding: .5rem; }
  table.entries thead, table.findings thead { position: absolute; left: -9999px; }
  table.entries tr, table.findings tr { display: block; border-bottom: 2px solid var(--line); padding: .25rem 0; }
  table.entries td, table.findings td { display: block; border: 0; padding: .2rem .5rem; }
  table.entries td::before, table.findings td::before { content: attr(data-label); display: block; font-size: .75rem; color: var(--muted); }
  .facts { grid-template-columns: 1fr; } .facts dt { margin-top: .35rem; }
}
`;

/**
 * The allowlist page's handlers: the list, one entry, the "new from an incident" form, and the
 * script and style sheet. Same principal and roles as the API (shared/allowlist/api.ts): without a
 * principal 401, without Allowlist.Read 403; write controls are rendered only for Allowlist.Write
 * (the API refuses writes without it anyway). Every state change goes through the API's handlers.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { AllowlistApiDeps, Handler } from '../api';
import { guarded, principalFromRequest, ROLE_PERMANENT, ROLE_READ, ROLE_WRITE } from '../api';
import { ID_PATTERN } from '../entry';
import { lookback } from '../recentFindings';
import { PAGE_SCRIPT, PAGE_STYLE } from './client';
import type { Viewer } from './html';
import { messagePage, PAGE_HEADERS, parseListQuery, renderEntry, renderList, renderNew } from './html';
import { proposeEntry } from './proposal';

const DAY_MS = 86_400_000;
/** The expiry the form proposes: short, so the entry is reviewed again soon. */
const DEFAULT_EXPIRY_DAYS = 30;

function html(status: number, body: string, extra: Record<string, string> = {}): HttpResponseInit {
  return { status, body, headers: { ...PAGE_HEADERS, ...extra } };
}

/**
 * Where a browser without a session goes: the sign-in path (App Service authentication's
 * /.auth/login/aad in Azure) with post_login_redirect_uri back to the page it asked for. Only the
 * path and query are carried, so the redirect stays on this app.
 */
export function signInRedirect(request: HttpRequest, signInPath: string): HttpResponseInit {
  const asked = new URL(request.url);
  const back = asked.pathname.startsWith('/allowlist') ? `${asked.pathname}${asked.search}` : '/allowlist';
  return { status: 302, headers: { Location: `${signInPath}?post_login_redirect_uri=${encodeURIComponent(back)}`, 'Cache-Control': 'no-store' } };
}

/**
 * The viewer, or the answer that says why not: without a principal a redirect to sign in (when a
 * sign-in path is configured, as in Azure) or 401; without the role 403.
 */
function viewerOf(request: HttpRequest, deps: AllowlistApiDeps): { viewer: Viewer } | { denied: HttpResponseInit } {
  const principal = principalFromRequest(request, deps.devPrincipal);
  if (!principal && deps.signInPath) return { denied: signInRedirect(request, deps.signInPath) };
  if (!principal) return { denied: html(401, messagePage('Sign-in required', 'Sign in with your organisation account to see the allowlist.'), { 'WWW-Authenticate': 'Bearer' }) };
  if (!principal.roles.has(ROLE_READ)) return { denied: html(403, messagePage('Not allowed', `Seeing the allowlist needs the app role ${ROLE_READ}.`)) };
  return { viewer: { name: principal.name, canWrite: principal.roles.has(ROLE_WRITE), canPermanent: principal.roles.has(ROLE_PERMANENT) } };
}

export const pageList: Handler = async (request, _context, deps) => {
  const auth = viewerOf(request, deps);
  if ('denied' in auth) return auth.denied;
  const entries = await deps.store.listEntries({ includeDeleted: true });
  return html(200, renderList(entries, parseListQuery(request.query), auth.viewer, deps.clock.now()));
};

export const pageNew: Handler = async (request, _context, deps) => {
  const auth = viewerOf(request, deps);
  if ('denied' in auth) return auth.denied;
  const now = deps.clock.now();
  const raw = request.query.get('incident');
  const incidentId = raw && raw.length <= 200 ? raw : null;
  const lookbackDays = deps.breadth?.lookbackDays ?? 0;
  let proposal = null;
  if (incidentId && deps.recentFindings && deps.breadth) {
    const found = await deps.recentFindings.list({ ...lookback(now, deps.breadth.lookbackDays), incidentId, limit: 500 });
    proposal = proposeEntry(incidentId, found.findings);
  }
  const expiryDays = Math.min(DEFAULT_EXPIRY_DAYS, deps.maxLifetimeDays);
  return html(
    200,
    renderNew(
      { incidentId, proposal, maxLifetimeDays: deps.maxLifetimeDays, defaultExpiry: new Date(now.getTime() + expiryDays * DAY_MS).toISOString(), lookbackDays, breadth: null },
      auth.viewer,
    ),
  );
};

export const pageEntry: Handler = async (request, context, deps) => {
  const id = request.params.id;
  if (id === 'new') return pageNew(request, context, deps);
  const auth = viewerOf(request, deps);
  if ('denied' in auth) return auth.denied;
  const entry = typeof id === 'string' && ID_PATTERN.test(id) ? await deps.store.getEntry(id, { includeDeleted: true }) : null;
  if (!entry) return html(404, messagePage('No such entry', 'There is no allowlist entry with this id.'));
  const history = await deps.store.history(entry.id);
  const lookbackDays = deps.breadth?.lookbackDays ?? 0;
  const suppressed =
    deps.recentFindings && deps.breadth ? (await deps.recentFindings.list({ ...lookback(deps.clock.now(), lookbackDays), suppressedBy: entry.id, limit: 50 })).findings : [];
  return html(200, renderEntry(entry, history, suppressed, lookbackDays, auth.viewer, deps.clock.now()));
};

const ASSETS: Record<string, { type: string; body: string }> = {
  'page.js': { type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT },
  'page.css': { type: 'text/css; charset=utf-8', body: PAGE_STYLE },
};

/** The script and style: public (no data in them), so the sign-in page can style itself too. */
export const pageAsset: Handler = async (request): Promise<HttpResponseInit> => {
  const asset = ASSETS[request.params.name ?? ''];
  if (!asset) return { status: 404, body: 'not found', headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
  return { status: 200, body: asset.body, headers: { 'Content-Type': asset.type, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' } };
};

function getOnly(handler: Handler): Handler {
  return guarded(async (request, context, deps) => {
    if (request.method.toUpperCase() !== 'GET') return { status: 405, body: 'method not allowed', headers: { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' } };
    return handler(request, context, deps);
  });
}

/** /allowlist */
export const handlePageList = getOnly(pageList);
/** /allowlist/{id} (and /allowlist/new) */
export const handlePageEntry = getOnly(pageEntry);
/** /allowlist/assets/{name} */
export const handlePageAsset = getOnly(pageAsset);

/**
 * The allowlist HTTP API's core: authorisation from App Service authentication, request
 * validation and the mapping of store outcomes to status codes. Handlers take the request and
 * their dependencies, so tests call them directly; functions/allowlist.ts only registers routes.
 *
 *   GET    /api/allowlist                 Allowlist.Read   list (?includeDeleted=true)
 *   POST   /api/allowlist                 Allowlist.Write  create → 201 + ETag + Location
 *   GET    /api/allowlist/{id}            Allowlist.Read   one entry + ETag
 *   PUT    /api/allowlist/{id}            Allowlist.Write  replace; If-Match required (428/412)
 *   DELETE /api/allowlist/{id}            Allowlist.Write  soft delete; If-Match required
 *   GET    /api/allowlist/{id}/history    Allowlist.Read   audit trail, newest first
 *   GET    /api/allowlist/{id}/suppressed Allowlist.Read   recent findings the entry suppressed
 *   POST   /api/allowlist-preview         Allowlist.Read   breadth of a draft entry (nothing stored)
 *
 * A change reason for the audit trail may be given as `X-Change-Reason` header or `?reason=`.
 * A permanent entry (`permanent: true`) needs Allowlist.Permanent besides Allowlist.Write. An entry
 * that would hide more than the configured share of recent findings, or a finding of a chain,
 * needs `"confirm": ["broad", "chain"]` (as the 422 answer lists) in the body; the confirmation is
 * written to the audit record and the change announcement.
 *
 * Cross-site requests: App Service authentication signs the browser in with a cookie, so every
 * state change needs the `X-Allowlist-Client` header (and POST/PUT a JSON content type). A form
 * another site posts cannot set either, and a script of another origin cannot without a CORS
 * preflight this app never grants.
 *
 * Trust: `x-ms-client-principal` is set by App Service authentication, which strips any value a
 * client sends. The routes are `authLevel: 'anonymous'` for the browser page: App Service
 * authentication must be on and require sign-in (infra/app/auth.bicep), and a request without a
 * principal still gets 401 here.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { TableClient } from '@azure/data-tables';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { Breadth, BreadthOverride, Confirmation } from './breadth';
import { CONFIRMATIONS, estimateBreadth, missingConfirmations, overrideOf } from './breadth';
import type { AllowlistConditions, AllowlistEntry, AllowlistEntryInput, AllowlistScope, FieldError } from './entry';
import { ID_PATTERN, MAX_REASON_LENGTH, validateConditions, validateEntryInput } from './entry';
import type { AllowlistChangeNotifier } from './notifier';
import { createLogChangeNotifier } from './notifier';
import type { RecentFindingsStore } from './recentFindings';
import { lookback } from './recentFindings';
import type { AllowlistSettings } from './settings';
import { AllowlistStore, EntryConflictError, EntryNotFoundError, EntryValidationError, PreconditionFailedError } from './store';

export const ROLE_READ = 'Allowlist.Read';
export const ROLE_WRITE = 'Allowlist.Write';
/** Needed, besides Allowlist.Write, to write an entry that never expires. */
export const ROLE_PERMANENT = 'Allowlist.Permanent';
/** The header every state-changing request must carry (see "Cross-site requests" above). */
export const CLIENT_HEADER = 'x-allowlist-client';

/** Request bodies larger than this are refused before parsing (an entry is a few KB at most). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AllowlistApiDeps {
  store: AllowlistStore;
  clock: Clock;
  maxLifetimeDays: number;
  /** See AllowlistSettings.devPrincipal; null in any real deployment. */
  devPrincipal: string | null;
  /** See AllowlistSettings.signInPath: where the page sends a browser without a session; null = 401. */
  signInPath?: string | null;
  /** Where breadth is measured; null = no estimate (entries are then judged by their patterns only). */
  recentFindings?: RecentFindingsStore | null;
  breadth?: { lookbackDays: number; maxShare: number };
}

/** The API's dependencies: the tables come from the caller (shared/app/allowlistRuntime.ts). */
export function createAllowlistDeps(
  settings: AllowlistSettings,
  options: {
    tables: { entries: TableClient; audit: TableClient };
    clock?: Clock;
    notifier?: AllowlistChangeNotifier;
    recentFindings?: RecentFindingsStore | null;
  },
): AllowlistApiDeps {
  const clock = options.clock ?? systemClock;
  return {
    store: new AllowlistStore({
      entries: options.tables.entries,
      audit: options.tables.audit,
      clock,
      notifier: options.notifier ?? createLogChangeNotifier(console),
    }),
    clock,
    maxLifetimeDays: settings.maxLifetimeDays,
    devPrincipal: settings.devPrincipal,
    signInPath: settings.signInPath,
    recentFindings: options.recentFindings ?? null,
    breadth: { lookbackDays: settings.previewLookbackDays, maxShare: settings.maxSharePercent / 100 },
  };
}

export interface Principal {
  /** Who, as written to the audit trail. */
  name: string;
  roles: ReadonlySet<string>;
}

const ROLE_CLAIM_TYPES = ['roles', 'role', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const NAME_CLAIM_TYPES = [
  'preferred_username',
  'upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'name',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'appid',
  'azp',
];
const OID_CLAIM_TYPES = ['oid', 'http://schemas.microsoft.com/identity/claims/objectidentifier'];

/**
 * Reads the caller from `x-ms-client-principal` (base64 JSON `{ claims: [{ typ, val }], role_typ,
 * name_typ }`). Returns null when absent or unreadable; a dev principal (all roles) stands in only
 * when configured and the header is absent.
 */
export function principalFromRequest(request: HttpRequest, devPrincipal: string | null): Principal | null {
  const header = request.headers.get('x-ms-client-principal');
  if (!header) {
    return devPrincipal ? { name: `dev:${devPrincipal}`, roles: new Set([ROLE_READ, ROLE_WRITE, ROLE_PERMANENT]) } : null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const body = parsed as Record<string, unknown>;
  const claims: { typ: string; val: string }[] = [];
  if (Array.isArray(body.claims)) {
    for (const c of body.claims as unknown[]) {
      if (typeof c === 'object' && c !== null) {
        const { typ, val } = c as Record<string, unknown>;
        if (typeof typ === 'string' && typeof val === 'string') claims.push({ typ, val });
      }
    }
  }
  const roleTypes = new Set(ROLE_CLAIM_TYPES);
  if (typeof body.role_typ === 'string') roleTypes.add(body.role_typ);
  const roles = new Set(claims.filter((c) => roleTypes.has(c.typ)).map((c) => c.val));
  const nameTypes = typeof body.name_typ === 'string' ? [body.name_typ, ...NAME_CLAIM_TYPES] : NAME_CLAIM_TYPES;
  const claim = (types: string[]): string | undefined => {
    for (const t of types) {
      const found = claims.find((c) => c.typ === t && c.val.trim() !== '');
      if (found) return found.val.trim();
    }
    return undefined;
  };
  const oid = claim(OID_CLAIM_TYPES) ?? request.headers.get('x-ms-client-principal-id') ?? undefined;
  const display = claim(nameTypes) ?? request.headers.get('x-ms-client-principal-name') ?? undefined;
  // Names can change; the object id cannot, so the audit trail gets both when it can.
  const name = display && oid && display !== oid ? `${display} (${oid})` : display ?? oid ?? 'unidentified-principal';
  return { name: name.slice(0, 256), roles };
}

export type Handler = (request: HttpRequest, context: InvocationContext, deps: AllowlistApiDeps) => Promise<HttpResponseInit>;

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Cache-Control': 'no-store', ...headers } };
}

function errors(status: number, list: FieldError[]): HttpResponseInit {
  return json(status, { errors: list });
}

function problem(status: number, field: string, message: string): HttpResponseInit {
  return errors(status, [{ field, message }]);
}

function entryResponse(status: number, entry: AllowlistEntry, extra: Record<string, string> = {}): HttpResponseInit {
  return json(status, entry, entry.etag ? { ETag: entry.etag, ...extra } : extra);
}

/** 401 without a principal, 403 without the role; null when the caller may proceed. */
export function authorise(request: HttpRequest, deps: AllowlistApiDeps, role: string): { denied: HttpResponseInit } | { principal: Principal } {
  const principal = principalFromRequest(request, deps.devPrincipal);
  if (!principal) {
    return { denied: { ...problem(401, 'x-ms-client-principal', 'authentication required'), headers: { 'Cache-Control': 'no-store', 'WWW-Authenticate': 'Bearer' } } };
  }
  if (!principal.roles.has(role)) return { denied: problem(403, 'roles', `the app role ${role} is required`) };
  return { principal };
}

function entryId(request: HttpRequest): string | null {
  const id = request.params.id;
  return typeof id === 'string' && ID_PATTERN.test(id) ? id : null;
}

/**
 * A state change must prove it comes from a script of this origin: the custom header, and for a
 * body, a JSON content type. Both are impossible for a cross-site form; nothing is read before.
 */
function sameOriginWrite(request: HttpRequest, hasBody: boolean): HttpResponseInit | null {
  if (!request.headers.get(CLIENT_HEADER)) {
    return problem(403, CLIENT_HEADER, `state-changing requests need the ${CLIENT_HEADER} header (cross-site requests are refused)`);
  }
  if (hasBody && !/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
    return problem(415, 'content-type', 'the body must be sent as application/json');
  }
  return null;
}

async function readJsonBody(request: HttpRequest): Promise<{ body: unknown } | { response: HttpResponseInit }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) return { response: problem(413, '', `the body must be at most ${MAX_BODY_BYTES} bytes`) };
  const text = await request.text();
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) return { response: problem(413, '', `the body must be at most ${MAX_BODY_BYTES} bytes`) };
  if (text.trim() === '') return { response: problem(400, '', 'a JSON body is required') };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { response: problem(400, '', 'the body is not valid JSON') };
  }
}

/** The If-Match ETag, or a 428 when missing (a wildcard would defeat the lost-update check). */
function requireIfMatch(request: HttpRequest): { etag: string } | { response: HttpResponseInit } {
  const etag = request.headers.get('if-match')?.trim();
  if (!etag || etag === '*') {
    return { response: problem(428, 'If-Match', "send the entry's current ETag in If-Match (from GET); * is not accepted") };
  }
  return { etag };
}

function changeReason(request: HttpRequest): { reason: string | undefined } | { response: HttpResponseInit } {
  const raw = request.headers.get('x-change-reason') ?? request.query.get('reason');
  if (raw === null || raw.trim() === '') return { reason: undefined };
  // eslint-disable-next-line no-control-regex
  if (raw.length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(raw)) {
    return { response: problem(400, 'reason', `the change reason must be at most ${MAX_REASON_LENGTH} characters without control characters`) };
  }
  return { reason: raw.trim() };
}

/** Takes `confirm` out of a body (it is not part of the entry); reports a malformed one. */
function takeConfirmations(body: unknown): { body: unknown; confirmed: Confirmation[] } | { response: HttpResponseInit } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('confirm' in body)) return { body, confirmed: [] };
  const { confirm, ...rest } = body as Record<string, unknown>;
  if (!Array.isArray(confirm) || !confirm.every((c) => CONFIRMATIONS.includes(c as Confirmation))) {
    return { response: problem(400, 'confirm', `must be an array of ${CONFIRMATIONS.map((c) => `"${c}"`).join(', ')}`) };
  }
  return { body: rest, confirmed: confirm as Confirmation[] };
}

/** The breadth of draft conditions over the configured look-back, or null without a store. */
export async function breadthOf(deps: AllowlistApiDeps, draft: { conditions: AllowlistConditions; scope: AllowlistScope }): Promise<(Breadth & { truncated: boolean }) | null> {
  if (!deps.recentFindings || !deps.breadth) return null;
  const now = deps.clock.now();
  const recent = await deps.recentFindings.list({ ...lookback(now, deps.breadth.lookbackDays), tenantId: draft.scope === 'global' ? null : draft.scope.tenantId });
  return { ...estimateBreadth(draft, recent.findings, { now, lookbackDays: deps.breadth.lookbackDays, maxShare: deps.breadth.maxShare }), truncated: recent.truncated };
}

/** The breadth view a client gets: counts and a few matched findings, never whole raw rows. */
function breadthBody(breadth: Breadth & { truncated: boolean }): Record<string, unknown> {
  const { sample, ...counts } = breadth;
  return { ...counts, sample: sample.slice(0, 20).map((r) => ({ ...r, finding: { ...r.finding, raw: {} } })) };
}

/**
 * Checks what a write needs beyond validation: the Permanent role for a permanent entry, and a
 * confirmation for a broad one. Returns the override to audit, or the refusal.
 */
async function admitWrite(
  deps: AllowlistApiDeps,
  principal: Principal,
  input: AllowlistEntryInput,
  confirmed: Confirmation[],
): Promise<{ override: BreadthOverride | null } | { response: HttpResponseInit }> {
  if (input.permanent && !principal.roles.has(ROLE_PERMANENT)) {
    return { response: problem(403, 'permanent', `an entry that never expires needs the app role ${ROLE_PERMANENT}; give an expiry instead`) };
  }
  if (!input.enabled) return { override: null };
  const breadth = await breadthOf(deps, input);
  if (!breadth) return { override: null };
  const missing = missingConfirmations(breadth, confirmed);
  if (missing.length > 0) {
    const why = missing.map((m) =>
      m === 'broad'
        ? `it would have suppressed ${breadth.matched} of ${breadth.total} findings of the last ${breadth.lookbackDays} days (more than ${Math.round(breadth.maxShare * 100)}%)`
        : `it would have suppressed ${breadth.chains} finding(s) of a chain incident`,
    );
    return {
      response: json(422, {
        errors: [{ field: 'confirm', message: `${why.join('; ')}: narrow the conditions, or confirm with "confirm": ${JSON.stringify(missing)}` }],
        breadth: breadthBody(breadth),
      }),
    };
  }
  return { override: overrideOf(breadth, confirmed, principal.name) };
}

function storeFailure(error: unknown): HttpResponseInit | null {
  if (error instanceof PreconditionFailedError) return problem(412, 'If-Match', error.message);
  if (error instanceof EntryNotFoundError) return problem(404, 'id', error.message);
  if (error instanceof EntryConflictError) return problem(409, 'id', error.message);
  if (error instanceof EntryValidationError) return errors(400, error.errors);
  return null;
}

export const listEntries: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_READ);
  if ('denied' in auth) return auth.denied;
  const entries = await deps.store.listEntries({ includeDeleted: request.query.get('includeDeleted') === 'true' });
  return json(200, { entries });
};

export const createEntry: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_WRITE);
  if ('denied' in auth) return auth.denied;
  const crossSite = sameOriginWrite(request, true);
  if (crossSite) return crossSite;
  const reason = changeReason(request);
  if ('response' in reason) return reason.response;
  const read = await readJsonBody(request);
  if ('response' in read) return read.response;
  const taken = takeConfirmations(read.body);
  if ('response' in taken) return taken.response;
  const validated = validateEntryInput(taken.body, { now: deps.clock.now(), maxLifetimeDays: deps.maxLifetimeDays });
  if (!validated.ok) return errors(400, validated.errors);
  const admitted = await admitWrite(deps, auth.principal, validated.value, taken.confirmed);
  if ('response' in admitted) return admitted.response;
  try {
    const entry = await deps.store.createEntry(validated.value, auth.principal.name, { changeReason: reason.reason, override: admitted.override });
    return entryResponse(201, entry, { Location: `/api/allowlist/${entry.id}` });
  } catch (error) {
    const mapped = storeFailure(error);
    if (mapped) return mapped;
    throw error;
  }
};

export const getEntry: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_READ);
  if ('denied' in auth) return auth.denied;
  const id = entryId(request);
  const entry = id ? await deps.store.getEntry(id) : null;
  return entry ? entryResponse(200, entry) : problem(404, 'id', 'no such allowlist entry');
};

export const updateEntry: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_WRITE);
  if ('denied' in auth) return auth.denied;
  const crossSite = sameOriginWrite(request, true);
  if (crossSite) return crossSite;
  const id = entryId(request);
  if (!id) return problem(404, 'id', 'no such allowlist entry');
  const precondition = requireIfMatch(request);
  if ('response' in precondition) return precondition.response;
  const reason = changeReason(request);
  if ('response' in reason) return reason.response;
  const read = await readJsonBody(request);
  if ('response' in read) return read.response;
  const taken = takeConfirmations(read.body);
  if ('response' in taken) return taken.response;
  const validated = validateEntryInput(taken.body, { now: deps.clock.now(), maxLifetimeDays: deps.maxLifetimeDays, allowId: true });
  if (!validated.ok) return errors(400, validated.errors);
  const admitted = await admitWrite(deps, auth.principal, validated.value, taken.confirmed);
  if ('response' in admitted) return admitted.response;
  try {
    const entry = await deps.store.updateEntry(id, validated.value, precondition.etag, auth.principal.name, { changeReason: reason.reason, override: admitted.override });
    return entryResponse(200, entry);
  } catch (error) {
    const mapped = storeFailure(error);
    if (mapped) return mapped;
    throw error;
  }
};

export const deleteEntry: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_WRITE);
  if ('denied' in auth) return auth.denied;
  const crossSite = sameOriginWrite(request, false);
  if (crossSite) return crossSite;
  const id = entryId(request);
  if (!id) return problem(404, 'id', 'no such allowlist entry');
  const precondition = requireIfMatch(request);
  if ('response' in precondition) return precondition.response;
  const reason = changeReason(request);
  if ('response' in reason) return reason.response;
  try {
    const entry = await deps.store.deleteEntry(id, precondition.etag, auth.principal.name, reason.reason);
    return entryResponse(200, entry);
  } catch (error) {
    const mapped = storeFailure(error);
    if (mapped) return mapped;
    throw error;
  }
};

export const entryHistory: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_READ);
  if ('denied' in auth) return auth.denied;
  const id = entryId(request);
  const history = id ? await deps.store.history(id) : [];
  return history.length > 0 ? json(200, { id, history }) : problem(404, 'id', 'no such allowlist entry');
};

export const suppressedFindings: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_READ);
  if ('denied' in auth) return auth.denied;
  const id = entryId(request);
  const entry = id ? await deps.store.getEntry(id, { includeDeleted: true }) : null;
  if (!id || !entry) return problem(404, 'id', 'no such allowlist entry');
  if (!deps.recentFindings || !deps.breadth) return json(200, { id, lookbackDays: 0, findings: [], truncated: false });
  const recent = await deps.recentFindings.list({ ...lookback(deps.clock.now(), deps.breadth.lookbackDays), suppressedBy: id, limit: 200 });
  return json(200, { id, lookbackDays: deps.breadth.lookbackDays, findings: recent.findings.map((r) => ({ ...r, finding: { ...r.finding, raw: {} } })), truncated: recent.truncated });
};

/** The breadth of a draft (POST so the draft need not go into a URL); changes nothing. */
export const previewEntry: Handler = async (request, _context, deps) => {
  const auth = authorise(request, deps, ROLE_READ);
  if ('denied' in auth) return auth.denied;
  const read = await readJsonBody(request);
  if ('response' in read) return read.response;
  const body = (typeof read.body === 'object' && read.body !== null ? read.body : {}) as Record<string, unknown>;
  const draft = validateConditions(body.conditions, body.scope ?? 'global');
  if (!draft.ok) return json(200, { errors: draft.errors, breadth: null });
  const breadth = await breadthOf(deps, draft.value);
  return json(200, { errors: [], breadth: breadth ? breadthBody(breadth) : null });
};

/** The request's path: `request.url` carries `?code=` (a function key) and must not be logged. */
export function pathOf(request: HttpRequest): string {
  try {
    return new URL(request.url).pathname;
  } catch {
    return '(unparsable url)';
  }
}

/** Any unexpected failure becomes a logged 500 without internals in the body. */
export function guarded(handler: Handler): Handler {
  return async (request, context, deps) => {
    try {
      return await handler(request, context, deps);
    } catch (error) {
      context.error(`allowlist ${request.method} ${pathOf(request)} failed:`, error);
      return problem(500, '', 'internal error; see the function logs');
    }
  };
}

function byMethod(routes: Partial<Record<string, Handler>>): Handler {
  const allowed = Object.keys(routes).join(', ');
  return guarded(async (request, context, deps) => {
    const handler = routes[request.method.toUpperCase()];
    if (!handler) return { ...problem(405, '', `method not allowed; use ${allowed}`), headers: { Allow: allowed } };
    return handler(request, context, deps);
  });
}

/** /api/allowlist */
export const handleAllowlistCollection = byMethod({ GET: listEntries, POST: createEntry });
/** /api/allowlist/{id} */
export const handleAllowlistItem = byMethod({ GET: getEntry, PUT: updateEntry, DELETE: deleteEntry });
/** /api/allowlist/{id}/history */
export const handleAllowlistHistory = byMethod({ GET: entryHistory });
/** /api/allowlist/{id}/suppressed */
export const handleAllowlistSuppressed = byMethod({ GET: suppressedFindings });
/** /api/allowlist-preview */
export const handleAllowlistPreview = byMethod({ POST: previewEntry });

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
 *
 * A change reason for the audit trail may be given as `X-Change-Reason` header or `?reason=`.
 *
 * Trust: `x-ms-client-principal` is set by App Service authentication, which strips any value a
 * client sends. Without App Service authentication in front, anyone holding the function key
 * could forge it, so the deployment must enable it (authLevel 'function' is the second lock).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { TableClient } from '@azure/data-tables';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { AllowlistEntry, FieldError } from './entry';
import { ID_PATTERN, MAX_REASON_LENGTH, validateEntryInput } from './entry';
import type { AllowlistChangeNotifier } from './notifier';
import { createLogChangeNotifier } from './notifier';
import type { AllowlistSettings } from './settings';
import { AllowlistStore, EntryConflictError, EntryNotFoundError, EntryValidationError, PreconditionFailedError } from './store';

export const ROLE_READ = 'Allowlist.Read';
export const ROLE_WRITE = 'Allowlist.Write';

/** Request bodies larger than this are refused before parsing (an entry is a few KB at most). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AllowlistApiDeps {
  store: AllowlistStore;
  clock: Clock;
  maxLifetimeDays: number;
  /** See AllowlistSettings.devPrincipal; null in any real deployment. */
  devPrincipal: string | null;
}

/** The API's dependencies: the tables come from the caller (shared/app/allowlistRuntime.ts). */
export function createAllowlistDeps(
  settings: AllowlistSettings,
  options: { tables: { entries: TableClient; audit: TableClient }; clock?: Clock; notifier?: AllowlistChangeNotifier },
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
    return devPrincipal ? { name: `dev:${devPrincipal}`, roles: new Set([ROLE_READ, ROLE_WRITE]) } : null;
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

type Handler = (request: HttpRequest, context: InvocationContext, deps: AllowlistApiDeps) => Promise<HttpResponseInit>;

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
function authorise(request: HttpRequest, deps: AllowlistApiDeps, role: string): { denied: HttpResponseInit } | { principal: Principal } {
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
  const reason = changeReason(request);
  if ('response' in reason) return reason.response;
  const read = await readJsonBody(request);
  if ('response' in read) return read.response;
  const validated = validateEntryInput(read.body, { now: deps.clock.now(), maxLifetimeDays: deps.maxLifetimeDays });
  if (!validated.ok) return errors(400, validated.errors);
  try {
    const entry = await deps.store.createEntry(validated.value, auth.principal.name, reason.reason);
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
  const id = entryId(request);
  if (!id) return problem(404, 'id', 'no such allowlist entry');
  const precondition = requireIfMatch(request);
  if ('response' in precondition) return precondition.response;
  const reason = changeReason(request);
  if ('response' in reason) return reason.response;
  const read = await readJsonBody(request);
  if ('response' in read) return read.response;
  const validated = validateEntryInput(read.body, { now: deps.clock.now(), maxLifetimeDays: deps.maxLifetimeDays, allowId: true });
  if (!validated.ok) return errors(400, validated.errors);
  try {
    const entry = await deps.store.updateEntry(id, validated.value, precondition.etag, auth.principal.name, reason.reason);
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

/** Any unexpected failure becomes a logged 500 without internals in the body. */
function guarded(handler: Handler): Handler {
  return async (request, context, deps) => {
    try {
      return await handler(request, context, deps);
    } catch (error) {
      context.error(`allowlist ${request.method} ${request.url} failed:`, error);
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

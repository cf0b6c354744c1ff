/** Allowlist HTTP handlers called directly, against Azurite: auth, validation, ETags, codes. */
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { HttpResponseInit } from '@azure/functions';
import fc from 'fast-check';
import type { AllowlistApiDeps } from '../../../shared/allowlist/api';
import type { AllowlistEntry, FieldError } from '../../../shared/allowlist/entry';
import type { AuditRecord } from '../../../shared/allowlist/store';
import { handleAllowlistCollection, handleAllowlistHistory, handleAllowlistItem, principalFromRequest, ROLE_READ, ROLE_WRITE } from '../../../shared/allowlist/api';
import { validateEntryInput } from '../../../shared/allowlist/entry';
import { loadSettings } from '../../../shared/config/settings';
import { makeStore, steppingClock } from './helpers';

const BASE = 'http://localhost/api/allowlist';

function principal(roles: string[], name = 'alice@contoso.com'): string {
  const claims = [{ typ: 'preferred_username', val: name }, { typ: 'oid', val: '00000000-0000-0000-0000-0000000000a1' }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims, name_typ: 'name', role_typ: 'roles' })).toString('base64');
}
const READER = principal([ROLE_READ]);
const WRITER = principal([ROLE_READ, ROLE_WRITE]);

function setup(devPrincipal: string | null = null): AllowlistApiDeps & { changes: ReturnType<typeof makeStore>['changes'] } {
  const clock = steppingClock();
  const { store, changes } = makeStore(clock);
  return { store, clock, maxLifetimeDays: 90, devPrincipal, changes };
}

const context = () => new InvocationContext({ functionName: 'allowlist-test', logHandler: () => undefined });

/** The union of the API's JSON bodies, loosely, for assertions. */
type JsonBody = Partial<AllowlistEntry> & { errors: FieldError[]; entries: AllowlistEntry[]; history: AuditRecord[] };

interface Call {
  method: string;
  id?: string;
  history?: boolean;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/** What the page's script sends with every change (a cross-site form cannot). */
const SAME_ORIGIN = { 'x-allowlist-client': 'test', 'content-type': 'application/json' };

async function call(deps: AllowlistApiDeps, { method, id, history, body, headers: given = {}, query }: Call): Promise<HttpResponseInit & { json: JsonBody; header: (n: string) => string | undefined }> {
  const url = `${BASE}${id ? `/${id}` : ''}${history ? '/history' : ''}`;
  const headers = method === 'GET' ? given : { ...SAME_ORIGIN, ...given };
  const request = new HttpRequest({
    method,
    url,
    headers,
    ...(query ? { query } : {}),
    params: id ? { id } : {},
    ...(body === undefined ? {} : { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
  const handler = history ? handleAllowlistHistory : id ? handleAllowlistItem : handleAllowlistCollection;
  const response = await handler(request, context(), deps);
  const hdrs = (response.headers ?? {}) as Record<string, string>;
  return { ...response, json: response.jsonBody as JsonBody, header: (n) => Object.entries(hdrs).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1] };
}

const validBody = {
  conditions: { signerSubject: 'CN=Contoso Internal CA*', deviceName: 'pki-*' },
  reason: 'internal PKI',
  owner: 'pki-team',
  expiresAt: '2025-04-01T00:00:00Z',
};

describe('authorisation', () => {
  test('missing principal → 401; missing role → 403; unreadable header → 401', async () => {
    const deps = setup();
    expect((await call(deps, { method: 'GET' })).status).toBe(401);
    expect((await call(deps, { method: 'GET', headers: { 'x-ms-client-principal': 'not-base64-json' } })).status).toBe(401);
    expect((await call(deps, { method: 'GET', headers: { 'x-ms-client-principal': principal([]) } })).status).toBe(403);
    expect((await call(deps, { method: 'GET', headers: { 'x-ms-client-principal': READER } })).status).toBe(200);
    const denied = await call(deps, { method: 'POST', body: validBody, headers: { 'x-ms-client-principal': READER } });
    expect(denied.status).toBe(403);
    expect(denied.json.errors[0]!.message).toContain(ROLE_WRITE);
    expect((await call(deps, { method: 'DELETE', id: 'x', headers: { 'x-ms-client-principal': READER, 'if-match': 'x' } })).status).toBe(403);
  });

  test('a dev principal only when configured', async () => {
    expect((await call(setup(null), { method: 'GET' })).status).toBe(401);
    const deps = setup('developer');
    const created = await call(deps, { method: 'POST', body: validBody });
    expect(created.status).toBe(201);
    expect(created.json.createdBy).toBe('dev:developer');
    expect(loadSettings({ Storage: 'UseDevelopmentStorage=true' }).allowlist.devPrincipal).toBeNull();
  });

  test('principal name and roles from claims', () => {
    const p = principalFromRequest(new HttpRequest({ method: 'GET', url: BASE, headers: { 'x-ms-client-principal': WRITER } }), null);
    expect(p?.name).toBe('alice@contoso.com (00000000-0000-0000-0000-0000000000a1)');
    expect([...(p?.roles ?? [])].sort()).toEqual([ROLE_READ, ROLE_WRITE]);
    const custom = Buffer.from(JSON.stringify({ claims: [{ typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: ROLE_READ }] })).toString('base64');
    expect(principalFromRequest(new HttpRequest({ method: 'GET', url: BASE, headers: { 'x-ms-client-principal': custom, 'x-ms-client-principal-name': 'bob' } }), null)).toEqual({ name: 'bob', roles: new Set([ROLE_READ]) });
  });
});

describe('entry lifecycle', () => {
  test('POST 201 with ETag and Location; GET 200; 404s', async () => {
    const deps = setup();
    const created = await call(deps, { method: 'POST', body: validBody, headers: { 'x-ms-client-principal': WRITER } });
    expect(created.status).toBe(201);
    expect(created.header('ETag')).toBe(created.json.etag);
    expect(created.header('Location')).toBe(`/api/allowlist/${created.json.id}`);
    expect(created.json).toMatchObject({ ...validBody, expiresAt: '2025-04-01T00:00:00.000Z', scope: 'global', enabled: true, createdBy: 'alice@contoso.com (00000000-0000-0000-0000-0000000000a1)' });
    const got = await call(deps, { method: 'GET', id: created.json.id, headers: { 'x-ms-client-principal': READER } });
    expect(got.status).toBe(200);
    expect(got.header('ETag')).toBe(created.json.etag);
    expect((await call(deps, { method: 'GET', id: 'missing', headers: { 'x-ms-client-principal': READER } })).status).toBe(404);
    expect((await call(deps, { method: 'GET', id: 'bad id!', headers: { 'x-ms-client-principal': READER } })).status).toBe(404);
    const list = await call(deps, { method: 'GET', headers: { 'x-ms-client-principal': READER } });
    expect(list.json.entries).toHaveLength(1);
  });

  test('POST 400 names every bad field', async () => {
    const deps = setup();
    const bad = await call(deps, {
      method: 'POST',
      body: { conditions: { tool: 'nmap', colour: 'x' }, owner: '', expiresAt: '2099-01-01T00:00:00Z', id: 'chosen', extra: 1 },
      headers: { 'x-ms-client-principal': WRITER },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['conditions.colour', 'conditions.tool', 'expiresAt', 'extra', 'id', 'owner', 'reason']);
    for (const body of ['', 'not json', '[1', 'null', '[]']) {
      const r = await call(deps, { method: 'POST', body, headers: { 'x-ms-client-principal': WRITER } });
      expect(r.status).toBe(400);
      expect(Array.isArray(r.json.errors)).toBe(true);
    }
    const huge = await call(deps, { method: 'POST', body: { ...validBody, reason: 'x'.repeat(70000) }, headers: { 'x-ms-client-principal': WRITER } });
    expect(huge.status).toBe(413);
    expect(await deps.store.listEntries()).toEqual([]);
  });

  test('PUT: 428 without If-Match, 412 when stale, 200 with a new ETag; scope is fixed', async () => {
    const deps = setup();
    const w = { 'x-ms-client-principal': WRITER };
    const created = await call(deps, { method: 'POST', body: validBody, headers: w });
    const id = created.json.id as string;
    expect((await call(deps, { method: 'PUT', id, body: validBody, headers: w })).status).toBe(428);
    expect((await call(deps, { method: 'PUT', id, body: validBody, headers: { ...w, 'if-match': '*' } })).status).toBe(428);
    const updated = await call(deps, { method: 'PUT', id, body: { ...validBody, enabled: false }, headers: { ...w, 'if-match': created.header('ETag')!, 'x-change-reason': 'pause' } });
    expect(updated.status).toBe(200);
    expect(updated.json.enabled).toBe(false);
    expect(updated.header('ETag')).not.toBe(created.header('ETag'));
    const stale = await call(deps, { method: 'PUT', id, body: validBody, headers: { ...w, 'if-match': created.header('ETag')! } });
    expect(stale.status).toBe(412);
    const invalid = await call(deps, { method: 'PUT', id, body: { ...validBody, reason: '' }, headers: { ...w, 'if-match': updated.header('ETag')! } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.errors).toEqual([{ field: 'reason', message: 'must not be empty' }]);
    const scope = await call(deps, { method: 'PUT', id, body: { ...validBody, scope: { tenantId: 'other' } }, headers: { ...w, 'if-match': updated.header('ETag')! } });
    expect(scope.status).toBe(400);
    expect(scope.json.errors[0]!.field).toBe('scope');
    const otherId = await call(deps, { method: 'PUT', id, body: { ...validBody, id: 'someone-else' }, headers: { ...w, 'if-match': updated.header('ETag')! } });
    expect(otherId.status).toBe(400);
    expect((await call(deps, { method: 'PUT', id: 'missing', body: validBody, headers: { ...w, 'if-match': 'x' } })).status).toBe(404);
  });

  test('DELETE soft-deletes with If-Match; history shows every change; announcements go out', async () => {
    const deps = setup();
    const w = { 'x-ms-client-principal': WRITER };
    const created = await call(deps, { method: 'POST', body: validBody, headers: w });
    const id = created.json.id as string;
    expect((await call(deps, { method: 'DELETE', id, headers: w })).status).toBe(428);
    const deleted = await call(deps, { method: 'DELETE', id, headers: { ...w, 'if-match': created.header('ETag')! }, query: { reason: 'retired' } });
    expect(deleted.status).toBe(200);
    expect(deleted.json.deleted).toBe(true);
    expect((await call(deps, { method: 'GET', id, headers: w })).status).toBe(404);
    expect((await call(deps, { method: 'DELETE', id, headers: { ...w, 'if-match': deleted.header('ETag')! } })).status).toBe(404);
    const history = await call(deps, { method: 'GET', id, history: true, headers: { 'x-ms-client-principal': READER } });
    expect(history.status).toBe(200);
    expect(history.json.history.map((h: { action: string; reason: string }) => [h.action, h.reason])).toEqual([
      ['delete', 'retired'],
      ['create', 'internal PKI'],
    ]);
    expect((await call(deps, { method: 'GET', id: 'nothing', history: true, headers: { 'x-ms-client-principal': READER } })).status).toBe(404);
    expect(deps.changes.map((c) => c.action)).toEqual(['create', 'delete']);
    const listed = await call(deps, { method: 'GET', headers: w, query: { includeDeleted: 'true' } });
    expect(listed.json.entries).toHaveLength(1);
  });

  test('unsupported methods → 405; unexpected failures → 500 without details', async () => {
    const deps = setup();
    expect((await call(deps, { method: 'PATCH', id: 'x', headers: { 'x-ms-client-principal': WRITER } })).status).toBe(405);
    const broken = { ...deps, store: { ...deps.store, listEntries: () => Promise.reject(new Error('secret detail')) } } as unknown as AllowlistApiDeps;
    const r = await call(broken, { method: 'GET', headers: { 'x-ms-client-principal': READER } });
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.json)).not.toContain('secret');
  });
});

test('property: random POST bodies give 400 or 201, never 500, and never store an invalid entry', async () => {
  const deps = setup();
  const headers = { 'x-ms-client-principal': WRITER };
  const anyValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.anything({ maxDepth: 1 }));
  const body = fc.oneof(
    anyValue,
    fc.record(
      {
        conditions: fc.oneof(
          anyValue,
          fc.dictionary(fc.constantFrom('signerSubject', 'thumbprint', 'tool', 'branch', 'deviceName', 'bogus'), fc.oneof(fc.constantFrom('CN=x*', '*', 'openssl', 'ab12', ''), anyValue), { maxKeys: 3 }),
        ),
        scope: fc.oneof(fc.constant('global'), fc.record({ tenantId: fc.constantFrom('t1', 'bad/tenant', '') }), anyValue),
        reason: fc.oneof(fc.constant('benign'), anyValue),
        owner: fc.oneof(fc.constant('team'), anyValue),
        expiresAt: fc.oneof(fc.constantFrom('2025-03-20T00:00:00Z', '2024-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), anyValue),
        permanent: fc.oneof(fc.boolean(), anyValue),
        enabled: fc.oneof(fc.boolean(), anyValue),
        etag: fc.string(),
      },
      { requiredKeys: [] },
    ),
  );
  // Mostly-valid bodies with a few fields replaced, so that both outcomes are exercised.
  const nearlyValid = fc
    .tuple(
      fc.record({
        conditions: fc.constantFrom<Record<string, string>>({ signerSubject: 'CN=x*' }, { tool: 'openssl', deviceName: 'build*' }, { thumbprint: 'ab12' }),
        scope: fc.constantFrom<unknown>('global', { tenantId: 't1' }),
        reason: fc.constant('benign'),
        owner: fc.constant('team'),
        expiresAt: fc.constant('2025-03-20T00:00:00Z'),
      }),
      fc.dictionary(fc.constantFrom('conditions', 'scope', 'reason', 'owner', 'expiresAt', 'permanent', 'enabled', 'hitCount'), anyValue, { maxKeys: 2 }),
    )
    .map(([base, replaced]) => ({ ...base, ...replaced }));
  const bodies = fc.oneof(body, nearlyValid);
  let created = 0;
  await fc.assert(
    fc.asyncProperty(bodies, async (b) => {
      const r = await call(deps, { method: 'POST', body: b === undefined ? 'undefined' : JSON.stringify(b) ?? 'undefined', headers });
      expect([201, 400]).toContain(r.status);
      if (r.status === 400) {
        expect(r.json.errors.length).toBeGreaterThan(0);
        return;
      }
      created++;
      const stored = await deps.store.getEntry(r.json.id!);
      expect(stored).not.toBeNull();
      const { conditions, scope, reason, owner, expiresAt, enabled } = stored!;
      const again = validateEntryInput(
        { conditions, scope, reason, owner, enabled, ...(expiresAt === null ? { permanent: true } : { expiresAt }) },
        { now: new Date('2025-03-01T00:00:00Z'), maxLifetimeDays: 90 },
      );
      expect(again.ok).toBe(true);
    }),
    { numRuns: 150 },
  );
  expect(created).toBeGreaterThan(0);
});

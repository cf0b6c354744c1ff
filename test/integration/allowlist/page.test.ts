/**
 * The allowlist page's handlers called directly against Azurite (the browser tests drive the same
 * handlers through Chromium): headers and CSP, roles, escaping, the same-origin check on every state
 * change, the served script, and the route table.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { AllowlistApiDeps } from '../../../shared/allowlist/api';
import { handleAllowlistCollection, handleAllowlistItem, ROLE_READ, ROLE_WRITE } from '../../../shared/allowlist/api';
import { PAGE_SCRIPT } from '../../../shared/allowlist/page/client';
import { handlePageAsset, handlePageEntry, handlePageList } from '../../../shared/allowlist/page/handlers';
import { CONTENT_SECURITY_POLICY } from '../../../shared/allowlist/page/html';
import { ALLOWLIST_ROUTES, matchRoute } from '../../../shared/allowlist/routes';
import { principalHeader } from '../../support/browser';
import { input, makeStore, steppingClock } from './helpers';

const WRITER = principalHeader('alice@contoso.com', [ROLE_READ, ROLE_WRITE]);
const READER = principalHeader('rita@contoso.com', [ROLE_READ]);
const NOBODY = principalHeader('nora@contoso.com', []);

function setup(): AllowlistApiDeps {
  const clock = steppingClock('2025-03-01T00:00:00Z');
  return { store: makeStore(clock).store, clock, maxLifetimeDays: 90, devPrincipal: null };
}

const context = () => new InvocationContext({ functionName: 'page-test', logHandler: () => undefined });

function get(path: string, principal: string | null, params: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `http://localhost${path}`, headers: principal ? { 'x-ms-client-principal': principal } : {}, params });
}

function text(response: HttpResponseInit): string {
  if (typeof response.body !== 'string') throw new Error('expected a text body');
  return response.body;
}

function header(response: HttpResponseInit, name: string): string | undefined {
  return Object.entries((response.headers ?? {}) as Record<string, string>).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

test('pages carry the CSP and security headers, and no executable inline script', async () => {
  const deps = setup();
  const entry = await deps.store.createEntry(input({ id: 'e1', reason: '<script>alert(1)</script> & "quotes"' }), 'alice');
  for (const response of [await handlePageList(get('/allowlist', WRITER), context(), deps), await handlePageEntry(get(`/allowlist/${entry.id}`, WRITER, { id: entry.id }), context(), deps), await handlePageEntry(get('/allowlist/new', WRITER, { id: 'new' }), context(), deps)]) {
    expect(response.status).toBe(200);
    expect(header(response, 'Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(header(response, 'X-Content-Type-Options')).toBe('nosniff');
    expect(header(response, 'Cache-Control')).toBe('no-store');
    const body = text(response);
    for (const tag of body.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/allowlist\/assets\/page\.js"|type="application\/json"/);
    expect(body).not.toMatch(/ on[a-z]+=/i);
    expect(body).not.toMatch(/style="/);
  }
  const page = text(await handlePageEntry(get('/allowlist/e1', WRITER, { id: 'e1' }), context(), deps));
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
  expect(page).not.toContain('<script>alert(1)');
});

test('401 without a principal, 403 without Allowlist.Read; a reader gets no write controls', async () => {
  const deps = setup();
  await deps.store.createEntry(input({ id: 'e1' }), 'alice');
  expect((await handlePageList(get('/allowlist', null), context(), deps)).status).toBe(401);
  expect((await handlePageList(get('/allowlist', NOBODY), context(), deps)).status).toBe(403);
  const reader = text(await handlePageEntry(get('/allowlist/e1', READER, { id: 'e1' }), context(), deps));
  expect(reader).not.toContain('id="action-form"');
  expect(reader).toContain('"writable":false');
  const writer = text(await handlePageEntry(get('/allowlist/e1', WRITER, { id: 'e1' }), context(), deps));
  expect(writer).toContain('id="action-form"');
  expect((await handlePageEntry(get('/allowlist/missing', WRITER, { id: 'missing' }), context(), deps)).status).toBe(404);
});

test('behind App Service authentication a browser without a session is sent to sign in and back; the API still answers 401', async () => {
  const deps = { ...setup(), signInPath: '/.auth/login/aad' };
  await deps.store.createEntry(input({ id: 'e1' }), 'alice');
  const asked = await handlePageEntry(get('/allowlist/new?incident=inc-1%262', null, { id: 'new' }), context(), deps);
  expect(asked.status).toBe(302);
  expect(header(asked, 'Location')).toBe(`/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('/allowlist/new?incident=inc-1%262')}`);
  expect(header(asked, 'Cache-Control')).toBe('no-store');
  expect((await handlePageList(get('/allowlist', null), context(), deps)).status).toBe(302);
  // Signed in without the role: 403, never a redirect loop.
  expect((await handlePageList(get('/allowlist', NOBODY), context(), deps)).status).toBe(403);
  expect((await handlePageList(get('/allowlist', READER), context(), deps)).status).toBe(200);
  const api = await handleAllowlistCollection(get('/api/allowlist', null), context(), deps);
  expect(api.status).toBe(401);
});

test('a state change without the client header or as a form is refused before anything is read', async () => {
  const deps = setup();
  const body = JSON.stringify({ conditions: { thumbprint: 'AB12', deviceName: 'ws01' }, owner: 'o', reason: 'r', expiresAt: '2025-03-20T00:00:00Z' });
  const post = (headers: Record<string, string>) =>
    handleAllowlistCollection(new HttpRequest({ method: 'POST', url: 'http://localhost/api/allowlist', headers: { 'x-ms-client-principal': WRITER, ...headers }, body: { string: body } }), context(), deps);
  expect((await post({ 'content-type': 'application/json' })).status).toBe(403);
  expect((await post({ 'x-allowlist-client': 'x', 'content-type': 'text/plain' })).status).toBe(415);
  expect((await post({ 'x-allowlist-client': 'x', 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  const entry = await deps.store.createEntry(input({ id: 'e1' }), 'alice');
  const del = await handleAllowlistItem(
    new HttpRequest({ method: 'DELETE', url: 'http://localhost/api/allowlist/e1', headers: { 'x-ms-client-principal': WRITER, 'if-match': entry.etag! }, params: { id: 'e1' } }),
    context(),
    deps,
  );
  expect(del.status).toBe(403);
  expect(await deps.store.listEntries()).toHaveLength(1);
  expect((await post({ 'x-allowlist-client': 'x', 'content-type': 'application/json; charset=utf-8' })).status).toBe(201);
});

test('the served script is valid, self-contained JavaScript that never writes markup', async () => {
  const response = await handlePageAsset(get('/allowlist/assets/page.js', null, { name: 'page.js' }), context(), setup());
  expect(response.status).toBe(200);
  expect(header(response, 'Content-Type')).toMatch(/^text\/javascript/);
  // Parsed, not run: a syntax error in the served text would throw here.
  const { Script } = await import('node:vm');
  expect(() => new Script(text(response))).not.toThrow();
  expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  expect((await handlePageAsset(get('/allowlist/assets/x.js', null, { name: 'x.js' }), context(), setup())).status).toBe(404);
});

test('the route table: literal routes, one parameter per segment, methods', () => {
  expect(ALLOWLIST_ROUTES.map((r) => r.route)).toContain('allowlist');
  const entry = matchRoute('/allowlist/abc', 'GET');
  expect(entry && 'route' in entry ? [entry.route.name, entry.params] : null).toEqual(['allowlistPageEntry', { id: 'abc' }]);
  const asset = matchRoute('/allowlist/assets/page.js', 'GET');
  expect(asset && 'route' in asset ? asset.route.name : null).toBe('allowlistPageAsset');
  const api = matchRoute('/api/allowlist/abc/history', 'GET');
  expect(api && 'route' in api ? [api.route.name, api.params] : null).toEqual(['allowlistHistory', { id: 'abc' }]);
  expect(matchRoute('/allowlist', 'POST')).toEqual({ allowed: ['GET'] });
  expect(matchRoute('/elsewhere', 'GET')).toBeNull();
});

/**
 * The allowlist page in a real browser (Debian's Chromium through playwright-core), served by the
 * real handlers on a local server (port 0) over Azurite, after a real demo cycle filled the
 * storage: list and filter, an entry with its history, a new entry from a demo incident with the
 * preview showing the right findings, the broad-entry confirmation (new, and re-enabling a disabled
 * entry from its page), a conflicting edit in two tabs,
 * a read-only user, a cross-site form post, and attacker text from a finding rendered as text.
 * App Service authentication is modelled by a browser context that sends x-ms-client-principal
 * on every request (as the platform does for a signed-in cookie), cross-site requests included.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { AllowlistApiDeps } from '../../shared/allowlist/api';
import { ROLE_READ, ROLE_WRITE } from '../../shared/allowlist/api';
import { estimateBreadth } from '../../shared/allowlist/breadth';
import { startLocalPageServer, type LocalPageServer } from '../../shared/allowlist/page/localServer';
import { proposeEntry } from '../../shared/allowlist/page/proposal';
import { lookback } from '../../shared/allowlist/recentFindings';
import { createAllowlistRuntime } from '../../shared/app/allowlistRuntime';
import { memoryLogger } from '../../shared/app/logger';
import { runRunCommand } from '../../shared/cli/run';
import { loadSettings } from '../../shared/config/settings';
import { DEMO_NOW } from '../../shared/demo/demo';
import type { Clock } from '../../shared/clock';
import { makeFinding } from '../unit/allowlist/helpers';
import { azuriteConnectionString, uniqueName } from '../support/azurite';
import { artifact, launchChromium, principalHeader } from '../support/browser';

jest.setTimeout(120_000);

const clock: Clock = { now: () => new Date(DEMO_NOW), sleep: async () => undefined };
const env: Record<string, string> = {
  Storage: azuriteConnectionString(),
  CHECKPOINTS_TABLE: uniqueName('pgckpt'),
  INCIDENTS_TABLE: uniqueName('pginc'),
  ALLOWLIST_TABLE: uniqueName('pgallow'),
  ALLOWLIST_AUDIT_TABLE: uniqueName('pgaudit'),
  DELIVERIES_TABLE: uniqueName('pgdeliv'),
  RECENT_STEPS_TABLE: uniqueName('pgsteps'),
  RECENT_FINDINGS_TABLE: uniqueName('pgrecent'),
  NOTIFICATION_QUEUE: uniqueName('pgntf'),
};
const WRITER = principalHeader('alice@contoso.com', [ROLE_READ, ROLE_WRITE]);
const READER = principalHeader('rita@contoso.com', [ROLE_READ]);

let browser: Browser;
let server: LocalPageServer;
let deps: AllowlistApiDeps;
let origin: string;
let dialogs: string[] = [];

async function contextAs(principal: string): Promise<BrowserContext> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-ms-client-principal': principal }, viewport: { width: 1280, height: 900 } });
  context.on('page', (p) => p.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss())));
  return context;
}

async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
  const response = await page.goto(`${origin}${path}`);
  expect(response?.status()).toBe(200);
  return page;
}

beforeAll(async () => {
  browser = await launchChromium();
  // A real demo cycle against these tables: entries, incidents and recent findings to browse.
  const out = await mkdtemp(join(tmpdir(), 'page-demo-'));
  let printed = '';
  const code = await runRunCommand(['--demo', '--storage', env.Storage!, '--out', out], { stdout: (s) => void (printed += s), stderr: () => undefined, env: { ...env } });
  expect({ code, printed: printed.slice(0, 200) }).toMatchObject({ code: 0 });
  const runtime = createAllowlistRuntime(loadSettings(env), memoryLogger(), { clock, warn: () => undefined });
  deps = runtime;
  server = await startLocalPageServer(deps);
  origin = server.origin;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(() => {
  dialogs = [];
});

test('list: every entry, expiring count, filter and sort; screenshot', async () => {
  const context = await contextAs(WRITER);
  const page = await open(context, '/allowlist');
  await expect(page.locator('h1').textContent()).resolves.toBe('Allowlist entries');
  await expect(page.locator('#expiring-count').textContent()).resolves.toMatch(/^\d+$/);
  const ids = await page.locator('table.entries tbody tr td:first-child a').allTextContents();
  expect(ids).toEqual(expect.arrayContaining(['demo-azdo-build-agent', 'demo-fiddler-root']));
  await page.screenshot({ path: artifact('allowlist-list.png'), fullPage: true });
  await page.fill('input[name="q"]', 'fiddler');
  await page.click('form.filters button[type="submit"]');
  await page.waitForURL(/q=fiddler/);
  expect(await page.locator('table.entries tbody tr td:first-child a').allTextContents()).toEqual(['demo-fiddler-root']);
  await page.goto(`${origin}/allowlist?sort=id&order=desc`);
  const sorted = await page.locator('table.entries tbody tr td:first-child a').allTextContents();
  expect(sorted).toEqual([...sorted].sort().reverse());
  await context.close();
});

test('entry: conditions, history and the findings it suppressed', async () => {
  const context = await contextAs(WRITER);
  const page = await open(context, '/allowlist');
  await page.click('a[href="/allowlist/demo-azdo-build-agent"]');
  await page.waitForURL(/\/allowlist\/demo-azdo-build-agent$/);
  await expect(page.locator('.history .audit').first().textContent()).resolves.toContain('create');
  await expect(page.locator('.history').textContent()).resolves.toContain('demo-seed');
  const suppressed = await deps.recentFindings!.list({ ...lookback(DEMO_NOW, 30), suppressedBy: 'demo-azdo-build-agent' });
  expect(suppressed.findings.length).toBeGreaterThan(0);
  expect(await page.locator('section[aria-labelledby="suppressed-h"] tbody tr').count()).toBe(suppressed.findings.length);
  expect(await page.locator('#action-form').count()).toBe(1);
  await page.screenshot({ path: artifact('allowlist-entry.png'), fullPage: true });
  await context.close();
});

test('new from a demo incident: proposal, preview with the right findings, save', async () => {
  const recent = (await deps.recentFindings!.list(lookback(DEMO_NOW, 30))).findings;
  // An incident on one device with a thumbprint: the proposal pins thumbprint and device.
  const incidentId = recent.find((r) => r.incident && r.finding.certificate.thumbprint && !r.incident.chain)!.incident!.id;
  const proposal = proposeEntry(incidentId, recent)!;
  const expected = estimateBreadth({ conditions: proposal.conditions, scope: proposal.scope }, recent, { now: DEMO_NOW, lookbackDays: 30, maxShare: 0.1 });
  const context = await contextAs(WRITER);
  const page = await open(context, `/allowlist/new?incident=${incidentId}`);
  for (const [field, value] of Object.entries(proposal.conditions)) expect(await page.inputValue(`#c-${field}`)).toBe(value);
  await page.waitForFunction(() => document.querySelector('#preview-result')?.textContent?.startsWith('Would have suppressed'));
  const text = await page.locator('#preview-result').textContent();
  expect(text).toContain(`Would have suppressed ${expected.matched} of ${expected.total} findings`);
  expect(text).toContain(`on ${expected.devices} device`);
  expect(await page.locator('#preview-sample tbody tr').count()).toBe(Math.min(20, expected.matched));
  const shownDevices = new Set(await page.locator('#preview-sample tbody tr td:nth-child(2)').allTextContents());
  expect([...shownDevices]).toEqual([proposal.incident.device]);
  await page.screenshot({ path: artifact('allowlist-new.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: artifact('allowlist-new-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.fill('#f-owner', 'secops@contoso.com');
  await page.fill('#f-reason', 'Developer test signing on this workstation');
  for (const kind of expected.needsConfirmation) await page.check(`#confirm-${kind}`);
  await page.click('#save');
  await page.waitForURL(/\/allowlist\/[0-9a-f-]{36}$/);
  const id = decodeURIComponent(page.url().split('/').pop()!);
  const stored = await deps.store.getEntry(id);
  expect(stored).toMatchObject({ conditions: proposal.conditions, owner: 'secops@contoso.com', createdBy: 'alice@contoso.com (oid-alice@contoso.com)' });
  await context.close();
});

test('broad entry: refused until the confirmation is ticked, which is audited', async () => {
  const context = await contextAs(WRITER);
  const page = await open(context, '/allowlist/new');
  await page.fill('#c-deviceName', 'build-srv-*');
  await page.waitForFunction(() => !document.querySelector('#confirmations')?.hasAttribute('hidden'));
  await page.fill('#f-owner', 'secops');
  await page.fill('#f-reason', 'build servers');
  // Untick and force a save: the server refuses with the breadth, nothing is stored.
  const before = (await deps.store.listEntries()).length;
  await page.evaluate(() => document.querySelectorAll<HTMLInputElement>('input[name="confirm"]').forEach((c) => (c.checked = false)));
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#form-status')?.textContent?.includes('Not saved'));
  expect(await page.locator('#form-status').textContent()).toContain('confirm');
  expect((await deps.store.listEntries()).length).toBe(before);
  await page.check('#confirm-broad');
  await page.click('#save');
  await page.waitForURL(/\/allowlist\/[0-9a-f-]{36}$/);
  const id = decodeURIComponent(page.url().split('/').pop()!);
  const [record] = await deps.store.history(id);
  expect(record?.override?.confirmed).toContain('broad');
  expect(record?.override?.by).toBe('alice@contoso.com (oid-alice@contoso.com)');
  await expect(page.locator('.history').textContent()).resolves.toContain('Confirmed as broad');
  await context.close();
});

test('a disabled broad entry re-enabled from its page: refused, confirmed with the figures shown, saved and audited', async () => {
  const recent = (await deps.recentFindings!.list(lookback(DEMO_NOW, 30))).findings;
  // Every workstation: more than the share allowed, and the fin-ws-042 chain among them.
  const conditions = { deviceName: '*ws-*' };
  const expected = estimateBreadth({ conditions, scope: 'global' }, recent, { now: DEMO_NOW, lookbackDays: 30, maxShare: 0.1 });
  expect(expected.needsConfirmation).toEqual(['broad', 'chain']);
  const seeded = await deps.store.createEntry(
    { id: 'paused-workstations', conditions, scope: 'global', reason: 'workstation pilot, paused', owner: 'secops', expiresAt: '2026-12-20T00:00:00.000Z', permanent: false, enabled: false },
    'demo-seed',
  );
  const context = await contextAs(WRITER);
  const page = await open(context, `/allowlist/${seeded.id}`);
  expect(await page.locator('#confirmations').isHidden()).toBe(true);
  await page.fill('#action-reason', 'pilot resumes');
  await page.click('button[data-action="enable"]');
  await page.waitForSelector('#confirmations:not([hidden])');
  expect(await page.locator('#action-status').textContent()).toContain('Not saved');
  expect(await deps.store.getEntry(seeded.id)).toMatchObject({ enabled: false });
  // Each kind with what it would suppress, as text; the checkbox is labelled and described by it.
  const pct = Math.round(expected.share * 1000) / 10;
  await expect(page.locator('#confirm-broad-figures').textContent()).resolves.toContain(`${expected.matched} of ${expected.total} findings (${pct}%)`);
  await expect(page.locator('#confirm-chain-figures').textContent()).resolves.toContain(`${expected.chains} finding`);
  expect(await page.getByLabel(/large share of recent findings/).getAttribute('id')).toBe('confirm-broad');
  expect(await page.locator('#confirm-broad').getAttribute('aria-describedby')).toBe('confirm-broad-figures');
  // Keyboard: focus lands on the first confirmation; space ticks it.
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-broad');
  await page.keyboard.press('Space');
  expect(await page.isChecked('#confirm-broad')).toBe(true);
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.screenshot({ path: artifact('allowlist-entry-confirm-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  // One kind ticked of two: refused again, nothing stored.
  await page.click('button[data-action="enable"]');
  await page.waitForFunction(() => document.querySelector('#action-status')?.textContent?.includes('chain'));
  expect(await deps.store.getEntry(seeded.id)).toMatchObject({ enabled: false });
  await page.check('#confirm-chain');
  await page.click('button[data-action="enable"]');
  await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'active');
  expect(await deps.store.getEntry(seeded.id)).toMatchObject({ enabled: true, updatedBy: 'alice@contoso.com (oid-alice@contoso.com)' });
  const [record] = await deps.store.history(seeded.id);
  expect(record).toMatchObject({ action: 'update', reason: 'pilot resumes', actor: 'alice@contoso.com (oid-alice@contoso.com)' });
  expect(record?.override).toMatchObject({ confirmed: ['broad', 'chain'], by: 'alice@contoso.com (oid-alice@contoso.com)', matched: expected.matched, total: expected.total, chains: expected.chains });
  const shown = await page.locator('.history .audit').first().textContent();
  expect(shown).toContain('Confirmed as broad and chain by alice@contoso.com (oid-alice@contoso.com)');
  expect(shown).toContain(`would have hidden ${expected.matched} of ${expected.total} recent findings`);
  await page.screenshot({ path: artifact('allowlist-entry-confirmed.png'), fullPage: true });
  // Disabling it again needs no confirmation.
  await page.fill('#action-reason', 'pilot over');
  await page.click('button[data-action="disable"]');
  await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'disabled');
  expect((await deps.store.history(seeded.id))[0]?.override).toBeNull();
  await context.close();
});

test('conflicting edit in two tabs: the second save is refused and shows what changed', async () => {
  const context = await contextAs(WRITER);
  const a = await open(context, '/allowlist/demo-fiddler-root');
  const b = await open(context, '/allowlist/demo-fiddler-root');
  await a.fill('#action-reason', 'paused during the audit');
  await a.click('button[data-action="disable"]');
  await a.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'disabled');
  await b.fill('#action-reason', 'extend for the release');
  await b.fill('#extend-to', '2026-12-20');
  await b.click('button[data-action="extend"]');
  await b.waitForSelector('#conflict:not([hidden])');
  const conflict = await b.locator('#conflict').textContent();
  expect(conflict).toContain('Someone changed this entry');
  expect(conflict).toMatch(/enabled: true → false/);
  const entry = await deps.store.getEntry('demo-fiddler-root');
  expect(entry).toMatchObject({ enabled: false });
  expect(entry?.expiresAt).not.toBe('2026-12-20T00:00:00.000Z');
  await b.screenshot({ path: artifact('allowlist-conflict.png'), fullPage: true });
  await context.close();
});

test('a read-only user sees no write controls, and a forced POST gets 403', async () => {
  const context = await contextAs(READER);
  const entry = await open(context, '/allowlist/demo-azdo-build-agent');
  expect(await entry.locator('#action-form').count()).toBe(0);
  expect(await entry.locator('button[data-action]').count()).toBe(0);
  const form = await open(context, '/allowlist/new');
  expect(await form.locator('#save').count()).toBe(0);
  expect(await form.locator('#c-deviceName').isDisabled()).toBe(true);
  await expect(form.locator('.warn').textContent()).resolves.toContain('Allowlist.Write');
  const status = await form.evaluate(async () => {
    const r = await fetch('/api/allowlist', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Allowlist-Client': 'forced' },
      body: JSON.stringify({ conditions: { thumbprint: 'AB12', deviceName: 'x' }, owner: 'o', reason: 'r', expiresAt: '2026-12-01T00:00:00Z' }),
    });
    return r.status;
  });
  expect(status).toBe(403);
  await context.close();
});

test('a cross-site form post changes nothing', async () => {
  const before = await deps.store.listEntries({ includeDeleted: true });
  // Another origin (a different port) serving a form that posts to the API as soon as it loads.
  const evil: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><html><body>
<form id="f" method="POST" action="${origin}/api/allowlist" enctype="text/plain"><input name='{"conditions":{"deviceName":"ws-eng-0088.contoso.local"},"owner":"x","reason":"x","expiresAt":"2026-12-01T00:00:00Z","x":"' value='"}'></form>
<form id="g" method="POST" action="${origin}/api/allowlist"><input name="conditions" value="x"></form>
<iframe name="sink"></iframe>
<script>document.getElementById('f').target='sink';document.getElementById('f').submit();setTimeout(function(){document.getElementById('g').submit();},300);</script>
</body></html>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
  const evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
  const context = await contextAs(WRITER);
  const statuses: number[] = [];
  context.on('response', (r) => {
    if (r.url().startsWith(`${origin}/api/allowlist`) && r.request().method() === 'POST') statuses.push(r.status());
  });
  const page = await context.newPage();
  await page.goto(`${evilOrigin}/`);
  await page.waitForURL(`${origin}/api/allowlist`);
  expect(statuses).toHaveLength(2);
  expect(statuses.every((s) => s === 403)).toBe(true);
  expect(await deps.store.listEntries({ includeDeleted: true })).toEqual(before);
  await context.close();
  await new Promise<void>((resolve) => evil.close(() => resolve()));
});

test("attacker text from a finding renders as text, never as markup", async () => {
  const hostile = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>';
  await deps.recentFindings!.record(
    'contoso-demo',
    [
      {
        finding: makeFinding({
          id: 'hostile-1',
          timestamp: '2026-11-26T10:00:00.000Z',
          commandLine: `makecert -n "CN=${hostile}" evil.cer`,
          certificate: { subject: `CN=${hostile}`, thumbprint: null, files: ['C:\\Users\\<b>x</b>\\evil.cer'] },
          device: { name: `ws-<i>evil</i>.contoso.local` },
        }),
        incident: { id: 'hostile-incident', severity: 'high', chain: false },
      },
    ],
    DEMO_NOW,
  );
  const context = await contextAs(WRITER);
  const page = await open(context, '/allowlist/new?incident=hostile-incident');
  await page.waitForFunction(() => document.querySelector('#preview-result')?.textContent?.startsWith('Would have suppressed'));
  expect(await page.inputValue('#c-signerSubject')).toBe(`CN=${hostile.replace(/\*/g, '?')}`);
  await expect(page.locator('.incident').textContent()).resolves.toContain(hostile);
  await expect(page.locator('#preview-sample').textContent()).resolves.toContain(hostile);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('i, b').count()).toBe(0);
  expect(dialogs).toEqual([]);
  await page.screenshot({ path: artifact('allowlist-hostile.png'), fullPage: true });
  await context.close();
});

test('without a principal: 401, as before', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  expect((await page.goto(`${origin}/allowlist`))?.status()).toBe(401);
  expect((await page.goto(`${origin}/api/allowlist`))?.status()).toBe(401);
  await context.close();
});

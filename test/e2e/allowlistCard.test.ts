/**
 * From "this is benign" in Teams to a suppressed signer, end to end: `run --demo --serve` (the
 * built CLI, as a process) hunts, writes the cards and keeps serving the allowlist page; Chromium
 * opens the demo's cards.html, clicks the first card's "Allowlist this signer" button, lands on the
 * page prefilled for that incident, and saves; the next `run --demo` against the same storage
 * suppresses that signer's findings with the new entry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { runRunCommand } from '../../shared/cli/run';
import type { Finding } from '../../shared/model/finding';
import { azuriteConnectionString, uniqueName } from '../support/azurite';
import { artifact, launchChromium } from '../support/browser';

jest.setTimeout(180_000);

const CLI = join(__dirname, '..', '..', 'dist', 'shared', 'cli', 'main.js');
const env: Record<string, string> = {
  Storage: azuriteConnectionString(),
  CHECKPOINTS_TABLE: uniqueName('cdckpt'),
  INCIDENTS_TABLE: uniqueName('cdinc'),
  ALLOWLIST_TABLE: uniqueName('cdallow'),
  ALLOWLIST_AUDIT_TABLE: uniqueName('cdaudit'),
  DELIVERIES_TABLE: uniqueName('cddeliv'),
  RECENT_STEPS_TABLE: uniqueName('cdsteps'),
  RECENT_FINDINGS_TABLE: uniqueName('cdrecent'),
  NOTIFICATION_QUEUE: uniqueName('cdntf'),
};

let browser: Browser | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `run --demo --serve --port 0` and resolves with the page's origin once it serves. */
async function serveDemo(out: string): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
  child = spawn(process.execPath, [CLI, 'run', '--demo', '--serve', '--port', '0', '--storage', env.Storage!, '--out', out], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child?.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /Allowlist page: (http:\/\/127\.0\.0\.1:\d+)\/allowlist/.exec(stdout);
      if (found?.[1]) resolve(found[1]);
    });
    child?.once('exit', (code) => reject(new Error(`run --demo --serve exited (${code}) before serving:\n${stdout}\n${stderr}`)));
  });
}

test('card button → page prefilled for the incident → save → the next demo run suppresses that signer', async () => {
  const out = await mkdtemp(join(tmpdir(), 'card-demo-'));
  const origin = await serveDemo(out);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const cards = await context.newPage();
  await cards.goto(`file://${join(out, 'notifications', 'cards.html')}`);
  const button = cards.locator('button[title="Allowlist this signer"]').first();
  await button.waitFor();
  const [page] = await Promise.all([context.waitForEvent('page'), button.click()]);
  await page.waitForLoadState();
  expect(page.url()).toMatch(new RegExp(`^${origin}/allowlist/new\\?incident=[0-9a-f]+$`));
  const incidentId = new URL(page.url()).searchParams.get('incident');
  await expect(page.locator('.incident code').first().textContent()).resolves.toBe(incidentId);
  const thumbprint = await page.inputValue('#c-thumbprint');
  const subject = await page.inputValue('#c-signerSubject');
  const device = await page.inputValue('#c-deviceName');
  expect(thumbprint || subject).not.toBe('');
  expect(device).not.toBe('');
  await page.waitForFunction(() => document.querySelector('#preview-result')?.textContent?.startsWith('Would have suppressed'));
  await page.fill('#f-owner', 'secops@contoso.com');
  await page.fill('#f-reason', 'Known developer test certificate on this device');
  for (const kind of ['broad', 'chain']) if (await page.isVisible(`#confirm-${kind}`)) await page.check(`#confirm-${kind}`);
  await page.screenshot({ path: artifact('card-to-page.png'), fullPage: true });
  await page.click('#save');
  await page.waitForURL(/\/allowlist\/[0-9a-f-]{36}$/);
  const entryId = decodeURIComponent(page.url().split('/').pop()!);
  await context.close();
  child?.kill('SIGTERM');
  await new Promise((resolve) => child?.once('exit', resolve));

  // The next cycle over the same storage (a fresh checkpoint, so the same rows are hunted again).
  const again = await mkdtemp(join(tmpdir(), 'card-demo-again-'));
  const code = await runRunCommand(['--demo', '--storage', env.Storage!, '--out', again], {
    stdout: () => undefined,
    stderr: () => undefined,
    env: { ...env, CHECKPOINTS_TABLE: uniqueName('cdckpt2') },
  });
  expect(code).toBe(0);
  const findings = (await readFile(join(again, 'findings.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Finding);
  const signer = findings.filter(
    (f) => f.device.name.toLowerCase() === device.toLowerCase() && (thumbprint ? f.certificate.thumbprint?.toLowerCase() === thumbprint.toLowerCase() : f.certificate.subject === subject),
  );
  expect(signer.length).toBeGreaterThan(0);
  expect(signer.map((f) => f.suppressedBy)).toEqual(signer.map(() => entryId));
});

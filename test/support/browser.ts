/**
 * Debian's Chromium driven by playwright-core (which never downloads a browser) for the browser
 * tests. A missing /usr/bin/chromium fails the test with how to install it; it is never skipped.
 * Screenshots go to test-artifacts/ (gitignored): look at them after a run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does this) or set CHROMIUM_PATH. Browser tests are never skipped.`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function artifact(name: string): string {
  return join(ARTIFACTS, name);
}

/** An x-ms-client-principal header value with these app roles, as App Service authentication sends it. */
export function principalHeader(name: string, roles: string[]): string {
  const claims = [{ typ: 'preferred_username', val: name }, { typ: 'oid', val: `oid-${name}` }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims, name_typ: 'name', role_typ: 'roles' })).toString('base64');
}

/**
 * The demo's allowlist: two entries a real SOC would have (the Azure DevOps build agent that
 * signs release builds, and Fiddler's local root on a developer laptop), each with an owner, a
 * reason and an expiry, created through the audited store like any other change.
 */
import type { AllowlistEntryInput } from '../allowlist/entry';
import type { AllowlistStore } from '../allowlist/store';

export function demoAllowlistEntries(now: Date): AllowlistEntryInput[] {
  const expiresAt = new Date(now.getTime() + 60 * 24 * 3600_000).toISOString();
  return [
    {
      id: 'demo-azdo-build-agent',
      conditions: { parentProcess: 'Agent.Worker.exe', deviceName: 'build-agent-*', branch: 'SignTool-ExecutableSigning' },
      scope: 'global',
      reason: 'Azure DevOps release pipeline signs Contoso.Agent builds with the code-signing certificate held on the build agents',
      owner: 'release-engineering@contoso.com',
      expiresAt,
      permanent: false,
      enabled: true,
    },
    {
      id: 'demo-fiddler-root',
      conditions: { signerSubject: 'CN=DO_NOT_TRUST_FiddlerRoot*', parentProcess: 'Fiddler.exe' },
      scope: 'global',
      reason: 'Fiddler Classic creates its local interception root on developer laptops; not a code-signing certificate',
      owner: 'appsec@contoso.com',
      expiresAt,
      permanent: false,
      enabled: true,
    },
  ];
}

/** Creates the entries that are not there yet (a second demo run against the same storage adds none). */
export async function seedDemoAllowlist(store: AllowlistStore, now: Date): Promise<string[]> {
  const existing = new Set((await store.listEntries({ includeDeleted: true })).map((e) => e.id));
  const created: string[] = [];
  for (const input of demoAllowlistEntries(now)) {
    if (input.id && existing.has(input.id)) continue;
    await store.createEntry(input, 'demo-seed', 'seeded by npm run demo');
    created.push(input.id ?? '');
  }
  return created;
}

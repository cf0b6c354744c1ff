/**
 * Issue #15, the allowlist's half (items 8, 9, 10): decoys and wide patterns must not blind the
 * hunt. Written before the fixes; each block names the item it proves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllowlistConditions } from '../../../shared/allowlist/entry';
import { entryDefects, isEntryActive, validateEntryInput } from '../../../shared/allowlist/entry';
import { estimateBreadth } from '../../../shared/allowlist/breadth';
import { compileAllowlist } from '../../../shared/allowlist/matcher';
import { makeEntry, makeFinding } from './helpers';

const NOW = new Date('2025-03-01T00:00:00Z');
const OPTIONS = { now: NOW, maxLifetimeDays: 90 };
const base = { reason: 'benign build signing', owner: 'secops', expiresAt: '2025-03-20T00:00:00Z' };

function errorFields(conditions: AllowlistConditions): string[] {
  const result = validateEntryInput({ ...base, conditions }, OPTIONS);
  return result.ok ? [] : result.errors.map((e) => `${e.field}: ${e.message}`);
}

describe('item 8: a file condition must hold for every certificate file of the finding', () => {
  const entry = makeEntry({ conditions: { certificateFile: 'C:\\PKI\\issued\\*.cer', deviceName: 'ws01*' } });
  test('a decoy echo argument beside the real file does not satisfy the condition', () => {
    const decoyed = makeFinding({ certificate: { files: ['C:\\PKI\\issued\\ok.cer', 'C:\\Users\\mallory\\AppData\\Local\\Temp\\evil.pfx'] } });
    expect(compileAllowlist([entry], NOW).match(decoyed)).toBeNull();
  });
  test('every file inside the pattern still matches; a finding without files never does', () => {
    const both = makeFinding({ certificate: { files: ['C:\\PKI\\issued\\a.cer', 'c:\\pki\\issued\\b.cer'] } });
    expect(compileAllowlist([entry], NOW).match(both)?.id).toBe('entry-1');
    expect(compileAllowlist([entry], NOW).match(makeFinding({ certificate: { files: [] } }))).toBeNull();
  });
  test('a bare file name condition matches each file by its name', () => {
    const byName = makeEntry({ conditions: { certificateFile: 'contoso.pfx', deviceName: 'ws01*' } });
    const f = makeFinding({ certificate: { files: ['C:\\build\\contoso.pfx', 'D:\\other\\evil.pfx'] } });
    expect(compileAllowlist([byName], NOW).match(f)).toBeNull();
  });
});

describe('item 8: a subject or file pattern alone is refused', () => {
  test.each<AllowlistConditions>([
    { signerSubject: 'CN=DO_NOT_TRUST_FiddlerRoot' },
    { certificateFile: 'C:\\PKI\\issued\\*.cer' },
    { signerSubject: 'CN=Contoso', certificateFile: 'C:\\PKI\\*.pfx' },
    { signerSubject: 'CN=Contoso', branch: 'MakeCert-NativeSDK', tool: 'makecert' },
    { signerSubject: 'CN=Contoso', account: 'contoso\\alice' },
  ])('%j needs a device, parent or thumbprint condition', (conditions) => {
    expect(errorFields(conditions).join('\n')).toMatch(/^conditions: .*device.*parent.*thumbprint/m);
  });
  test.each<AllowlistConditions>([
    { signerSubject: 'CN=Contoso', deviceName: 'ws01.contoso.com' },
    { signerSubject: 'CN=Contoso', parentProcess: 'Fiddler.exe' },
    { signerSubject: 'CN=Contoso', thumbprint: 'AB12CD34AB12CD34AB12CD34AB12CD34AB12CD34' },
    { certificateFile: 'C:\\PKI\\issued\\*.cer', deviceName: 'pki01' },
  ])('%j is accepted', (conditions) => {
    expect(errorFields(conditions)).toEqual([]);
  });
  test('a subject condition is anchored at the start of the subject (no leading wildcard)', () => {
    expect(errorFields({ signerSubject: '*DO_NOT_TRUST_FiddlerRoot*', parentProcess: 'Fiddler.exe' }).join('\n')).toMatch(/conditions.signerSubject: .*start/);
  });
  test('the shipped Fiddler template does not match a subject that only mentions Fiddler in another attribute', () => {
    const templates = JSON.parse(readFileSync(join(__dirname, '../../../shared/allowlist/templates.json'), 'utf8')) as { entries: { id: string; conditions: AllowlistConditions }[] };
    for (const t of templates.entries) {
      expect([t.id, errorFields(t.conditions)]).toEqual([t.id, []]);
    }
    const fiddler = templates.entries.find((t) => t.id === 'tpl-fiddler-root');
    const entry = makeEntry({ conditions: fiddler!.conditions });
    const decoy = makeFinding({ certificate: { subject: 'CN=Totally Legit, OU=DO_NOT_TRUST_FiddlerRoot' }, device: { name: 'CHANGE-ME-dev-01' }, parent: { fileName: 'Fiddler.exe' } });
    expect(compileAllowlist([entry], NOW).match(decoy)).toBeNull();
    const real = makeFinding({
      certificate: { subject: 'CN=DO_NOT_TRUST_FiddlerRoot, O=DO_NOT_TRUST, OU=Created by http://www.fiddler2.com' },
      device: { name: 'CHANGE-ME-dev-01' },
      parent: { fileName: 'Fiddler.exe' },
    });
    expect(compileAllowlist([entry], NOW).match(real)?.id).toBe('entry-1');
  });
});

describe('item 9: conditions that match (nearly) everything are refused', () => {
  test.each<AllowlistConditions>([{ deviceName: '*.*' }, { parentProcess: '*.exe' }, { account: '*\\*' }, { certificateFile: '*.pfx', deviceName: '*-*' }])(
    '%j',
    (conditions) => {
      expect(errorFields(conditions).length).toBeGreaterThan(0);
    },
  );

  test('breadth: share of recent findings, devices, HIGH and chain involvement', () => {
    const stored = Array.from({ length: 10 }, (_, i) => ({
      finding: makeFinding({ id: `f${i}`, device: { name: `ws${i % 4}.contoso.com` }, certificate: { subject: i < 6 ? 'CN=Dev Test' : 'CN=Other' } }),
      tenantId: 'contoso',
      incident: i === 2 ? { id: 'inc-2', severity: 'high' as const, chain: true } : null,
    }));
    const breadth = estimateBreadth({ conditions: { signerSubject: 'CN=Dev Test', deviceName: 'ws*' }, scope: 'global' }, stored, { now: NOW, lookbackDays: 30, maxShare: 0.25 });
    expect(breadth).toMatchObject({ total: 10, matched: 6, devices: 4, high: 1, chains: 1 });
    expect(breadth.share).toBeCloseTo(0.6);
    expect(breadth.needsConfirmation.sort()).toEqual(['broad', 'chain']);
    const narrow = estimateBreadth({ conditions: { signerSubject: 'CN=Other', deviceName: 'ws3.contoso.com' }, scope: 'global' }, stored, { now: NOW, lookbackDays: 30, maxShare: 0.25 });
    expect(narrow).toMatchObject({ matched: 1, needsConfirmation: [] });
  });

  test('breadth of a tenant-scoped entry counts only that tenant', () => {
    const stored = ['a', 'b', 'b'].map((tenantId, i) => ({ finding: makeFinding({ id: `f${i}` }), tenantId, incident: null }));
    const breadth = estimateBreadth({ conditions: { signerSubject: 'CN=Test', deviceName: 'ws01*' }, scope: { tenantId: 'b' } }, stored, { now: NOW, lookbackDays: 30, maxShare: 0.5 });
    expect(breadth).toMatchObject({ total: 2, matched: 2, needsConfirmation: ['broad'] });
  });
});

describe('item 10: an entry that did not come through the audited path is ignored', () => {
  test('a missing expiry is not permanent', () => {
    expect(isEntryActive(makeEntry({ expiresAt: null, permanent: false }), NOW)).toBe(false);
    expect(isEntryActive(makeEntry({ expiresAt: null, permanent: true }), NOW)).toBe(true);
  });
  test('entryDefects names what is missing', () => {
    expect(entryDefects(makeEntry({ owner: '', reason: ' ', expiresAt: null, permanent: false }))).toEqual(['no owner', 'no reason', 'no expiry']);
    expect(entryDefects(makeEntry({ expiresAt: '2025-04-01T00:00:00.000Z', permanent: false }))).toEqual([]);
  });
});

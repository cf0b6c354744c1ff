/** The narrowest entry proposed for an incident: signer pinned to where it happened, never a subject alone. */
import { validateConditions } from '../../../shared/allowlist/entry';
import { proposeEntry } from '../../../shared/allowlist/page/proposal';
import { makeFinding } from './helpers';

const inc = { id: 'inc-1', severity: 'medium' as const, chain: false };

test('a shared thumbprint, the device, parent and branch; scoped to the tenant', () => {
  const findings = [1, 2].map((i) => ({ finding: makeFinding({ id: `f${i}`, certificate: { thumbprint: 'AB12CD', subject: 'CN=Dev' } }), tenantId: 'contoso', incident: inc }));
  const p = proposeEntry('inc-1', [...findings, { finding: makeFinding({ id: 'other' }), tenantId: 'contoso', incident: { ...inc, id: 'inc-2' } }])!;
  expect(p.conditions).toEqual({ thumbprint: 'AB12CD', deviceName: 'ws01.contoso.com', parentProcess: 'cmd.exe', branch: 'MakeCert-NativeSDK' });
  expect(p.scope).toEqual({ tenantId: 'contoso' });
  expect(p.incident).toMatchObject({ findings: 2, device: 'ws01.contoso.com', thumbprint: 'AB12CD' });
  expect(validateConditions(p.conditions, p.scope).ok).toBe(true);
});

test('without a thumbprint, the exact subject (wildcards neutralised), still pinned to the device', () => {
  const f = makeFinding({ certificate: { thumbprint: null, subject: 'CN=Build*Agent?' }, parent: { fileName: null } });
  const p = proposeEntry('inc-1', [{ finding: f, tenantId: 't', incident: inc }])!;
  expect(p.conditions).toMatchObject({ signerSubject: 'CN=Build?Agent?', deviceName: 'ws01.contoso.com' });
  expect(p.conditions.parentProcess).toBeUndefined();
  expect(validateConditions(p.conditions, p.scope).ok).toBe(true);
});

test('findings that disagree on a value leave it out; an unknown incident proposes nothing', () => {
  const a = makeFinding({ id: 'a', certificate: { thumbprint: 'AA' }, parent: { fileName: 'cmd.exe' } });
  const b = makeFinding({ id: 'b', certificate: { thumbprint: 'BB' }, parent: { fileName: 'powershell.exe' } });
  const p = proposeEntry('inc-1', [a, b].map((finding) => ({ finding, tenantId: 't', incident: inc })))!;
  expect(p.conditions.thumbprint).toBeUndefined();
  expect(p.conditions.parentProcess).toBeUndefined();
  expect(p.conditions).toMatchObject({ signerSubject: 'CN=Test', deviceName: 'ws01.contoso.com' });
  expect(proposeEntry('nope', [])).toBeNull();
});

test('a story: steps that name no signer do not veto; several certificates propose the first usable creation', () => {
  const create = makeFinding({ id: 'c', timestamp: '2025-01-01T10:00:00.000Z', certificate: { thumbprint: null, subject: 'CN=Tray Dev' } });
  const sign = makeFinding({ id: 's', timestamp: '2025-01-01T10:01:00.000Z', action: 'sign', certificate: { thumbprint: null, subject: null, files: ['tray.pfx'] } });
  const one = proposeEntry('inc-1', [create, sign].map((finding) => ({ finding, tenantId: 't', incident: inc })))!;
  expect(one.conditions).toMatchObject({ signerSubject: 'CN=Tray Dev', deviceName: 'ws01.contoso.com' });
  const other = makeFinding({ id: 'o', timestamp: '2025-01-01T12:00:00.000Z', certificate: { thumbprint: null, subject: 'CN=Other Dev', files: ['other.cer'] } });
  const two = proposeEntry('inc-1', [other, sign, create].map((finding) => ({ finding, tenantId: 't', incident: inc })))!;
  expect(two.conditions).toMatchObject({ signerSubject: 'CN=Tray Dev', deviceName: 'ws01.contoso.com' });
});

import { gunzipSync } from 'node:zlib';
import { buildIncidents, type BuildContext } from '../../../shared/incidents/build';
import { validateIncident } from '../../../shared/schema/validate';
import {
  at,
  certutilAddStore,
  DEVICE_ID,
  makeRuleContext,
  makecertCreate,
  newSelfSignedCert,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';

const ctx: BuildContext = {
  tenantId: 'tenant-1',
  rule: makeRuleContext(),
  now: new Date(at(24 * 60)),
  chainWindowMs: 2 * 60 * 60 * 1000,
  allowlistBaseUrl: 'https://hunt.contoso.com',
};

describe('buildIncidents', () => {
  test('a creation becomes one scored, linked, titled incident', () => {
    const f = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const [incident, ...rest] = buildIncidents([f], ctx);
    expect(rest).toHaveLength(0);
    expect(incident).toMatchObject({
      tenantId: 'tenant-1',
      ruleId: 't1587-002',
      title: "Self-signed code-signing certificate 'CN=Contoso Dev' created on WS-042 by alice",
      chain: false,
      chainLink: null,
      branch: 'PowerShell-CertCmdlet',
      device: { id: DEVICE_ID, name: 'WS-042' },
      accounts: ['CONTOSO\\alice'],
      signer: { subject: 'CN=Contoso Dev', thumbprint: null, file: null },
      firstSeen: f.timestamp,
      lastSeen: f.timestamp,
      findingCount: 1,
      findingIds: [f.id],
      severity: 'medium',
      confidence: 'high',
      status: 'new',
      // Open from the first step until the grouping window (8 h by default) after the last.
      window: { start: f.timestamp, end: at(8 * 60) },
      story: { actor: 'contoso\\alice', fileCount: 0, files: [], previousIncidentId: null },
    });
    expect(incident!.links.device).toBe(`https://security.microsoft.com/machines/v2/${DEVICE_ID}/overview`);
    expect(incident!.links.huntingQuery).toMatch(/^https:\/\/security\.microsoft\.com\/v2\/advanced-hunting\?query=/);
    expect(incident!.links.allowlistSigner).toBe(`https://hunt.contoso.com/allowlist/new?incident=${incident!.id}`);
    expect(validateIncident(incident)).toEqual([]);
  });

  test('creation then signing is one escalated chain incident linking both steps', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = setAuthenticode('C:\\Users\\alice\\Desktop\\tool.ps1', { minutes: 15 });
    const other = signtoolSign('unrelated.exe', {}, { minutes: 600, parent: { processId: 9999 } });
    const incidents = buildIncidents([create, sign, other], ctx);
    expect(incidents).toHaveLength(2);
    expect(incidents[1]!.story.previousIncidentId).toBe(incidents[0]!.id);
    const chain = incidents.find((i) => i.chain)!;
    expect(chain.title).toContain('created and used');
    expect(chain.severity).toBe('high');
    expect(chain.findingIds).toEqual([create.id, sign.id]);
    expect(chain.chainLink).toMatchObject({ createdFindingIds: [create.id], usedFindingIds: [sign.id] });
    expect(chain.attack.map((t) => t.id)).toEqual(['T1587.002', 'T1553.002']);
    expect(chain.reasons.map((r) => r.code)).toContain('chain');
    for (const i of incidents) expect(validateIncident(i)).toEqual([]);
  });

  test('the chain incident keeps the id the creation had on its own (a re-run that saw only the creation)', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = certutilAddStore('Root', 'contoso.cer', { minutes: 15 });
    const [alone] = buildIncidents([create], ctx);
    const [chain] = buildIncidents([create, sign], ctx);
    expect(chain!.id).toBe(alone!.id);
    expect(chain!.attack.map((t) => t.id)).toContain('T1553.004');
  });

  test('suppressed findings make no incident; no allowlist base URL, no allowlist link', () => {
    expect(buildIncidents([newSelfSignedCert('CN=X', { suppressedBy: 'entry-1' })], ctx)).toEqual([]);
    const [incident] = buildIncidents([newSelfSignedCert()], { ...ctx, allowlistBaseUrl: undefined });
    expect(incident!.links.allowlistSigner).toBeNull();
  });

  test('the hunting link window pads the incident and stops at now', () => {
    const f = newSelfSignedCert('CN=X', { minutes: 0 });
    const [incident] = buildIncidents([f], { ...ctx, now: new Date(at(10)) });
    const q = new URL(incident!.links.huntingQuery!).searchParams.get('query')!;
    const text = gunzipSync(Buffer.from(q, 'base64')).toString('utf16le');
    expect(text).toContain(`datetime(${at(-60)}) .. datetime(${at(10)})`);
  });

  test('a finding without DeviceId still groups and has no device link', () => {
    const [incident] = buildIncidents([newSelfSignedCert('CN=X', { device: { id: null, name: 'LAPTOP-7' } })], ctx);
    expect(incident!.links.device).toBeNull();
    expect(incident!.device).toEqual({ id: null, name: 'LAPTOP-7' });
    expect(validateIncident(incident)).toEqual([]);
  });

  test('a makecert -> signtool chain from winword.exe named DO_NOT_TRUST_FiddlerRoot is one HIGH incident (issue #15 item 6)', () => {
    const parent = { fileName: 'WINWORD.EXE', commandLine: '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n invoice.docm', processId: 6120 };
    const create = makecertCreate('CN=DO_NOT_TRUST_FiddlerRoot', 'upd', { minutes: 0, parent, flags: { suspiciousParent: true } });
    const sign = signtoolSign('C:\\Users\\alice\\AppData\\Roaming\\upd.exe', { pfx: 'upd.pfx' }, { minutes: 1, parent, flags: { suspiciousParent: true } });
    const convert = pvk2pfx('upd', { minutes: 0.5, parent, flags: { suspiciousParent: true } });
    const incidents = buildIncidents([create, convert, sign], ctx);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ chain: true, severity: 'high' });
    expect(incidents[0]!.reasons.find((r) => r.code === 'dev-proxy-subject')).toMatchObject({ severityDelta: 0, confidenceDelta: -1 });
    // A Teams channel with minSeverity medium still sees it.
    expect(['medium', 'high']).toContain(incidents[0]!.severity);
  });

  test('severity is scored over the whole story: one suspicious step is not diluted by ordinary ones', () => {
    const ordinary = [newSelfSignedCert('CN=Contoso Dev', { minutes: 0 }), signtoolSign('a.exe', {}, { minutes: 2 }), signtoolSign('b.exe', {}, { minutes: 3 })];
    const odd = signtoolSign('C:\\Users\\Public\\c.exe', {}, { minutes: 4, parent: { fileName: 'mshta.exe' }, flags: { suspiciousParent: true } });
    const [incident] = buildIncidents([...ordinary, odd], ctx);
    expect(incident!.findingIds).toHaveLength(4);
    expect(incident!.severity).toBe('high');
    expect(incident!.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['suspicious-parent', 'chain']));
  });
});

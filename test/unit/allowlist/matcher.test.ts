/** Allowlist matcher: field mapping, AND/ANY semantics, activity, scope, index vs naive scan. */
import fc from 'fast-check';
import type { AllowlistConditions, AllowlistEntry, ConditionField } from '../../../shared/allowlist/entry';
import { CONDITION_FIELDS, isEntryActive } from '../../../shared/allowlist/entry';
import { globMatch } from '../../../shared/allowlist/glob';
import { compileAllowlist, findingConditionValues, suppress } from '../../../shared/allowlist/matcher';
import type { Finding } from '../../../shared/model/finding';
import { makeEntry, makeFinding } from './helpers';

const NOW = new Date('2025-03-01T00:00:00Z');

function matchId(entries: AllowlistEntry[], finding: Finding, tenantId?: string): string | null {
  return compileAllowlist(entries, NOW).match(finding, tenantId)?.id ?? null;
}

describe('field mapping', () => {
  const finding = makeFinding({
    certificate: { subject: 'CN=Contoso Code Signing', thumbprint: 'ABCDEF0123', files: ['C:\\Build\\keys\\contoso.PFX'] },
    device: { name: 'BUILD01.contoso.com' },
    account: { name: 'svc-build', domain: 'CONTOSO' },
    parent: { fileName: 'Agent.Worker.exe' },
    branch: 'SignTool-ExecutableSigning',
    tool: 'signtool',
  });

  test.each<[AllowlistConditions, boolean]>([
    [{ signerSubject: 'cn=contoso code signing' }, true],
    [{ signerSubject: 'CN=Contoso' }, false],
    [{ thumbprint: 'abcdef0123' }, true],
    [{ certificateFile: 'contoso.pfx' }, true],
    [{ certificateFile: 'c:\\build\\keys\\contoso.pfx' }, true],
    [{ certificateFile: '*\\keys\\*.pfx' }, true],
    [{ certificateFile: 'keys\\contoso.pfx' }, false],
    [{ deviceName: 'build01.contoso.com' }, true],
    [{ deviceName: 'build0?.*' }, true],
    [{ account: 'svc-build' }, true],
    [{ account: 'contoso\\svc-build' }, true],
    [{ account: 'other\\svc-build' }, false],
    [{ parentProcess: 'agent.worker.exe' }, true],
    [{ branch: 'SignTool-ExecutableSigning' }, true],
    [{ branch: 'OpenSSL-CertCreation' }, false],
    [{ tool: 'SIGNTOOL' }, true],
    [{ tool: 'sign*' }, true],
  ])('%j matches: %s', (conditions, expected) => {
    expect(matchId([makeEntry({ conditions })], finding)).toBe(expected ? 'entry-1' : null);
  });

  test('all conditions must match (AND)', () => {
    expect(matchId([makeEntry({ conditions: { signerSubject: 'CN=Contoso*', deviceName: 'build01.contoso.com' } })], finding)).toBe('entry-1');
    expect(matchId([makeEntry({ conditions: { signerSubject: 'CN=Contoso*', deviceName: 'other' } })], finding)).toBeNull();
  });

  test('null finding values never match a condition', () => {
    const bare = makeFinding({ certificate: { subject: null, thumbprint: null, files: [] }, parent: { fileName: null }, account: { name: null, domain: null } });
    for (const field of ['signerSubject', 'thumbprint', 'certificateFile', 'parentProcess', 'account'] as ConditionField[]) {
      expect(matchId([makeEntry({ conditions: { [field]: 'x*' } })], bare)).toBeNull();
    }
  });

  test('findingConditionValues lower-cases and expands files and accounts', () => {
    const values = findingConditionValues(finding);
    expect(values.certificateFile).toEqual(['c:\\build\\keys\\contoso.pfx', 'contoso.pfx']);
    expect(values.account).toEqual(['svc-build', 'contoso\\svc-build']);
  });
});

describe('activity and scope', () => {
  const finding = makeFinding();

  test('disabled, deleted and expired entries never match', () => {
    expect(matchId([makeEntry({ enabled: false })], finding)).toBeNull();
    expect(matchId([makeEntry({ deleted: true })], finding)).toBeNull();
    expect(matchId([makeEntry({ expiresAt: '2025-02-28T23:59:59Z' })], finding)).toBeNull();
    expect(matchId([makeEntry({ expiresAt: NOW.toISOString() })], finding)).toBeNull();
    expect(matchId([makeEntry({ expiresAt: '2025-03-01T00:00:01Z' })], finding)).toBe('entry-1');
    expect(matchId([makeEntry({ conditions: {} })], finding)).toBeNull();
  });

  test('tenant entries match only their tenant; global ones everywhere', () => {
    const tenant = makeEntry({ id: 't', scope: { tenantId: 'AAAA-1' } });
    expect(matchId([tenant], finding, 'aaaa-1')).toBe('t');
    expect(matchId([tenant], finding, 'bbbb-2')).toBeNull();
    expect(matchId([tenant], finding)).toBeNull();
    expect(matchId([makeEntry()], finding, 'bbbb-2')).toBe('entry-1');
  });

  test('the first matching entry in input order wins', () => {
    const a = makeEntry({ id: 'a', conditions: { signerSubject: 'CN=*' } });
    const b = makeEntry({ id: 'b', conditions: { signerSubject: 'CN=Test' } });
    expect(matchId([a, b], finding)).toBe('a');
    expect(matchId([b, a], finding)).toBe('b');
  });

  test('stats show how entries were anchored', () => {
    const matcher = compileAllowlist(
      [
        makeEntry({ id: '1', conditions: { thumbprint: 'ab' } }),
        makeEntry({ id: '2', conditions: { signerSubject: 'CN=Contoso*' } }),
        makeEntry({ id: '3', conditions: { certificateFile: '*.pfx' } }),
        makeEntry({ id: '4', conditions: { signerSubject: '*fiddler*' } }),
        makeEntry({ id: '5', conditions: { tool: 'openssl', signerSubject: 'CN=*Root' } }),
        makeEntry({ id: '6', enabled: false }),
        makeEntry({ id: '7', conditions: { certificateFile: '*\\team7\\*.pfx' } }),
        makeEntry({ id: '8', conditions: { signerSubject: '**' } }), // validation forbids; still safe
      ],
      NOW,
    );
    expect(matcher.stats).toEqual({ active: 7, inactive: 1, exactAnchored: 1, prefixAnchored: 1, suffixAnchored: 2, containsAnchored: 2, unanchored: 1 });
  });
});

describe('suppress', () => {
  test('sets suppressedBy and counts hits per entry', () => {
    const entries = [makeEntry({ id: 'fiddler', conditions: { signerSubject: '*DO_NOT_TRUST_FiddlerRoot*' } })];
    const findings = [
      makeFinding({ id: '1', certificate: { subject: 'CN=DO_NOT_TRUST_FiddlerRoot, O=DO_NOT_TRUST' } }),
      makeFinding({ id: '2', certificate: { subject: 'CN=Evil' } }),
      makeFinding({ id: '3', certificate: { subject: 'cn=do_not_trust_fiddlerroot' } }),
    ];
    const matcher = compileAllowlist(entries, NOW);
    const result = suppress(findings, matcher, null);
    expect(result.findings.map((f) => f.suppressedBy)).toEqual(['fiddler', null, 'fiddler']);
    expect(result.hits.get('fiddler')).toEqual({ count: 2, lastHitAt: NOW.toISOString() });
    expect(findings[0]!.suppressedBy).toBeNull(); // inputs untouched
  });
});

describe('index agrees with a naive scan', () => {
  /** Reference: check every entry in order, no index. */
  function naive(entries: AllowlistEntry[], finding: Finding, tenantId: string | null): string | null {
    const values = findingConditionValues(finding);
    for (const entry of entries) {
      if (!isEntryActive(entry, NOW)) continue;
      if (entry.scope !== 'global' && entry.scope.tenantId.toLowerCase() !== tenantId?.toLowerCase()) continue;
      const fields = CONDITION_FIELDS.filter((f) => entry.conditions[f] !== undefined);
      if (fields.length === 0) continue;
      const holds = (f: ConditionField): boolean =>
        f === 'certificateFile'
          ? values.certificateFiles.length > 0 && values.certificateFiles.every((forms) => forms.some((v) => globMatch(entry.conditions[f]!, v)))
          : values[f].some((v) => globMatch(entry.conditions[f]!, v));
      if (fields.every(holds)) return entry.id;
    }
    return null;
  }

  const word = fc.constantFrom('contoso', 'Fiddler', 'root', 'CA', 'ab', 'a', 'x.pfx', 'C:\\t\\');
  const text = fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(''));
  const pattern = fc.oneof(
    fc
      .tuple(fc.boolean(), text, fc.boolean(), fc.boolean())
      .map(([lead, body, mid, trail]) => `${lead ? '*' : ''}${mid ? body.replace('o', '?') : body}${trail ? '*' : ''}`),
    // Inner literal runs between wildcards exercise the Aho–Corasick index (overlapping keys).
    fc.tuple(fc.boolean(), text, fc.constantFrom('*', '?', '*?'), text, fc.boolean()).map(([lead, a, wild, b, trail]) => `${lead ? '*' : ''}${a}${wild}${b}${trail ? '*' : ''}`),
    fc.tuple(word, word).map(([a, b]) => `*${a}*${b}*`),
  );
  const conditionsArb = fc
    .record(
      {
        signerSubject: pattern,
        thumbprint: fc.constantFrom('ab*', 'abcd', '*cd', 'ab?d'),
        certificateFile: pattern,
        deviceName: pattern,
        account: pattern,
        parentProcess: pattern,
        tool: fc.constantFrom('openssl', 'makecert', 'make*', '*ssl'),
        branch: fc.constantFrom('OpenSSL-CertCreation', 'signtool', 'SignTool*'),
      },
      { requiredKeys: [] },
    )
    .filter((c) => Object.keys(c).length > 0);
  const entryArb = fc.record({
    conditions: conditionsArb,
    scope: fc.constantFrom<AllowlistEntry['scope']>('global', { tenantId: 'T1' }, { tenantId: 't2' }),
    enabled: fc.boolean(),
  });
  const findingArb = fc.record({
    subject: fc.option(text),
    thumbprint: fc.option(fc.constantFrom('ABCD', 'abxd', 'ffcd')),
    files: fc.array(text, { maxLength: 2 }),
    device: text,
    account: fc.option(text),
    parent: fc.option(text),
    tool: fc.constantFrom<Finding['tool']>('openssl', 'makecert', 'signtool'),
    branch: fc.constantFrom<Finding['branch']>('OpenSSL-CertCreation', 'SignTool-ExecutableSigning'),
  });

  test('random entries and findings', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 12 }),
        fc.array(findingArb, { minLength: 1, maxLength: 5 }),
        fc.constantFrom(null, 't1', 'T2', 'other'),
        (specs, findingSpecs, tenantId) => {
          const entries = specs.map((s, i) => makeEntry({ id: `e${i}`, ...s }));
          const matcher = compileAllowlist(entries, NOW);
          for (const f of findingSpecs) {
            const finding = makeFinding({
              certificate: { subject: f.subject, thumbprint: f.thumbprint, files: f.files },
              device: { name: f.device },
              account: { name: f.account, domain: 'DOM' },
              parent: { fileName: f.parent },
              tool: f.tool,
              branch: f.branch,
            });
            expect(matcher.match(finding, tenantId)?.id ?? null).toBe(naive(entries, finding, tenantId));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryFits, falsePositiveHints } from '../../../shared/enrich/hints';
import type { FalsePositiveEntry } from '../../../shared/enrich/rule-context';
import { ruleContextOf } from '../../../shared/app/huntRuntime';
import type { Finding } from '../../../shared/model/finding';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { defaultRulesDir, loadRule } from '../../../shared/rules/loadRules';
import { makeFinding, makeRuleContext } from '../../support/findings';

/** What falsePositiveHints must say: each entry tried on each finding on its own, in rule order. */
function reference(findings: readonly Finding[], entries: readonly FalsePositiveEntry[]): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    if (!findings.some((f) => entryFits(entry, f))) continue;
    const text = (entry.hint || entry.description).trim();
    if (text && !out.includes(text)) out.push(text);
  }
  return out;
}

function sampleFindings(): Finding[] {
  const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'shared', 'demo', 'sample-hunting-results.json'), 'utf8'));
  return normaliseResults(sample, { ruleId: 't1587-002' }).findings;
}

/** Findings that exercise every matcher field with odd spellings: blanks, case, quotes, domains. */
function oddFindings(): Finding[] {
  return [
    makeFinding({ parent: { fileName: '"C:\\agent\\bin\\Agent.Worker.exe"', commandLine: '  ', processId: 1, parentFileName: null } }),
    makeFinding({ parent: { fileName: 'java.exe', commandLine: 'java -jar C:\\Jenkins\\agent.jar', processId: 2, parentFileName: null } }),
    makeFinding({ account: { name: 'SVC_Build', domain: 'CONTOSO' }, device: { id: null, name: 'BUILD-01' } }),
    makeFinding({ account: { name: 'svc_build', domain: '' }, device: { id: 'x', name: ' ' } }),
    makeFinding({ account: { name: null, domain: 'contoso' } }),
    makeFinding({ process: { folderPath: '  ' }, certificate: { subject: 'CN=DO_NOT_TRUST_FiddlerRoot', thumbprint: null, files: ['', 'C:\\Jenkins\\workspace\\a.pfx'], store: null, codeSigningEku: false } }),
    makeFinding({ certificate: { subject: '  ', thumbprint: null, files: [], store: null, codeSigningEku: false }, signedFiles: ['C:\\Users\\Public\\x.exe'] }),
  ];
}

const ENTRIES: FalsePositiveEntry[][] = [
  makeRuleContext().falsePositives,
  ...['t1587-002', 'cert-key-files', 'self-signed-binaries', 'trust-store-tampering'].map((id) => ruleContextOf(loadRule(join(defaultRulesDir(), id))).falsePositives),
  [
    { id: 'acct', description: 'a', hint: 'account and device', accounts: ['contoso\\svc_*'], devices: ['build-*'] },
    { id: 'none', description: 'no matchers', hint: 'never' },
    { id: 'dup', description: 'd', hint: 'account and device', accounts: ['svc_build'] },
    { id: 'parent-and-line', description: 'p', hint: '', parents: ['java.exe'], parentCommandLines: ['*jenkins*'] },
    { id: 'paths', description: 'paths', hint: 'a path', paths: ['*\\jenkins\\workspace\\*', '*\\users\\public\\*'] },
  ],
];

describe('false-positive hints: the per-value masks say what each entry tried on each finding says', () => {
  const findings = [...sampleFindings(), ...oddFindings()];

  test.each(ENTRIES.map((entries, i) => [i, entries] as const))('entries %i: every finding alone and runs of findings', (_, entries) => {
    for (const finding of findings) expect(falsePositiveHints([finding], entries)).toEqual(reference([finding], entries));
    for (let i = 0; i < findings.length; i += 3) {
      const run = findings.slice(i, i + 7);
      expect(falsePositiveHints(run, entries)).toEqual(reference(run, entries));
    }
    expect(falsePositiveHints(findings, entries)).toEqual(reference(findings, entries));
  });

  test('the findings do fit entries of every kind (the comparison is not between two empty lists)', () => {
    expect(reference(findings, ENTRIES[5]!)).toEqual(['account and device', 'p', 'a path']);
    expect(reference(findings, ENTRIES[1]!).length).toBeGreaterThan(1);
  });

  test('a rule with more entries than a mask holds is still read entry by entry', () => {
    const many: FalsePositiveEntry[] = Array.from({ length: 40 }, (_, i) => ({ id: `e${i}`, description: `d${i}`, hint: `hint ${i}`, parents: [i % 2 === 0 ? 'agent.worker.exe' : `other${i}.exe`] }));
    many.push({ id: 'last', description: 'last', hint: 'the last one', devices: ['build-*'] });
    expect(falsePositiveHints(findings, many)).toEqual(reference(findings, many));
    expect(falsePositiveHints(findings, many)).toContain('the last one');
  });
});

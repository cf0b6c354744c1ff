/**
 * MITRE ATT&CK techniques of an incident, with links: the rule's own techniques plus those the
 * evidence shows (T1553.002 once something is signed, T1553.004 once a root store is changed).
 * Techniques that need evidence are dropped when it is absent, so a creation-only incident does not
 * claim signing. Pure.
 */
import type { Finding } from '../model/finding';
import type { AttackTechnique } from '../model/incident';
import type { RuleContext } from './rule-context';
import { trustImportOf } from './signals';

export const TECHNIQUES = {
  developCodeSigningCerts: {
    id: 'T1587.002',
    name: 'Develop Capabilities: Code Signing Certificates',
    url: 'https://attack.mitre.org/techniques/T1587/002/',
  },
  codeSigning: {
    id: 'T1553.002',
    name: 'Subvert Trust Controls: Code Signing',
    url: 'https://attack.mitre.org/techniques/T1553/002/',
  },
  installRootCertificate: {
    id: 'T1553.004',
    name: 'Subvert Trust Controls: Install Root Certificate',
    url: 'https://attack.mitre.org/techniques/T1553/004/',
  },
} as const satisfies Record<string, AttackTechnique>;

export function attackFor(findings: readonly Finding[], rule: Pick<RuleContext, 'attack'>): AttackTechnique[] {
  const signed = findings.some((f) => f.action === 'sign');
  const rootImport = findings.some((f) => trustImportOf(f) === 'root');
  const evidenced = new Map<string, boolean>([
    [TECHNIQUES.codeSigning.id, signed],
    [TECHNIQUES.installRootCertificate.id, rootImport],
  ]);
  const out = new Map<string, AttackTechnique>();
  const add = (t: AttackTechnique): void => {
    const id = t.id.trim().toUpperCase();
    // The rule's wording wins over the built-in one for the same technique.
    if (!out.has(id)) out.set(id, { id, name: t.name, url: t.url });
  };
  for (const t of rule.attack) if (evidenced.get(t.id.trim().toUpperCase()) !== false) add(t);
  add(TECHNIQUES.developCodeSigningCerts);
  if (signed) add(TECHNIQUES.codeSigning);
  if (rootImport) add(TECHNIQUES.installRootCertificate);
  return [...out.values()];
}

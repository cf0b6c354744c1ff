/**
 * Does a trust-store write found by trust-store-tampering complete a chain with a certificate
 * creation found by t1587-002 on the same device? The normalised registry finding is shaped so
 * that `chainRole` (shared/incidents/chains.ts) treats it as a use (certutil import-store into
 * Root), and `buildIncidents` links it, also across the two rules: the chain keeps the creation's
 * incident (and rule), and the hunt recalls remembered creations of every enabled rule.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleContextOf } from '../../../shared/app/huntRuntime';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { buildIncidents } from '../../../shared/incidents/build';
import { chainRole } from '../../../shared/incidents/chains';
import type { Finding } from '../../../shared/model/finding';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { loadRules } from '../../../shared/rules/loadRules';

const RULES_DIR = join(__dirname, '../../../rules');
const rules = loadRules();
const processRule = rules.find((r) => r.id === 't1587-002')!;

function findings(ruleId: string): Finding[] {
  const results = normaliseHuntingResults(JSON.parse(readFileSync(join(RULES_DIR, ruleId, 'fixtures', 'positive.json'), 'utf8')));
  const outcome = normaliseResults(results, { ruleId, defaultSeverity: 'medium' });
  expect(outcome.rejected).toEqual([]);
  return outcome.findings;
}

/** hr-ws-0217: a renamed makecert creates a code-signing certificate (t1587-002, 08:01:02). */
const creation = findings('t1587-002').find((f) => f.reportId === 77412)!;
/** hr-ws-0217: certutil writes a certificate into HKLM\...\ROOT\Certificates (trust-store-tampering, 08:01:10). */
const trustWrite = findings('trust-store-tampering').find((f) => f.reportId === 77415)!;

const context = { tenantId: 'contoso', rule: ruleContextOf(processRule), now: new Date('2024-05-14T09:00:00Z') };

test('the fixture steps are a creation and a trust-store use on the same device, eight seconds apart', () => {
  expect(creation.device.id).toBe(trustWrite.device.id);
  expect([creation.tool, creation.action, chainRole(creation)]).toEqual(['makecert', 'create-cert', 'create']);
  expect([trustWrite.tool, trustWrite.action, trustWrite.certificate.store, chainRole(trustWrite)]).toEqual([
    'certutil',
    'import-store',
    'LocalMachine\\Root',
    'use',
  ]);
});

test('within one rule the chain logic links the registry write to the creation: one escalated chain incident', () => {
  const sameRule = { ...trustWrite, ruleId: creation.ruleId };
  const incidents = buildIncidents([creation, sameRule], context);
  expect(incidents).toHaveLength(1);
  expect(incidents[0]?.chain).toBe(true);
  expect(incidents[0]?.chainLink?.createdFindingIds).toEqual([creation.id]);
  expect(incidents[0]?.chainLink?.usedFindingIds).toEqual([trustWrite.id]);
  expect(incidents[0]?.title).toMatch(/created and used trusted via the Root store/);
});

test('a t1587-002 creation then a trust-store-tampering write on the same device: one chain incident under the creation', () => {
  const incidents = buildIncidents([creation, trustWrite], context);
  expect(incidents).toHaveLength(1);
  expect(incidents[0]?.chain).toBe(true);
  expect(incidents[0]?.ruleId).toBe('t1587-002');
  expect(incidents[0]?.findingIds).toEqual(expect.arrayContaining([creation.id, trustWrite.id]));
});

import fc from 'fast-check';
import { boundedFindingJson, boundedIncidentJson, MIN_BOUND_CHARS } from '../../../shared/incidents/bound';
import { buildIncidents, type BuildContext } from '../../../shared/incidents/build';
import type { Finding } from '../../../shared/model/finding';
import type { Incident } from '../../../shared/model/incident';
import { isFinding, validateIncident } from '../../../shared/schema/validate';
import { at, makeRuleContext, newSelfSignedCert, signtoolSign } from '../../support/findings';

const MAX = 30_000;
const ctx: BuildContext = { tenantId: 'tenant-1', rule: makeRuleContext(), now: new Date(at(600)) };

function incidentOf(findings: Finding[]): Incident {
  const [incident] = buildIncidents(findings, ctx);
  if (!incident) throw new Error('no incident');
  return incident;
}

function withRaw(f: Finding, chars: number): Finding {
  return { ...f, raw: { AdditionalFields: 'r'.repeat(chars) } };
}

describe('boundedFindingJson', () => {
  test('a finding that fits is stored whole', () => {
    const f = newSelfSignedCert();
    expect(JSON.parse(boundedFindingJson(f))).toEqual(f);
  });

  test('raw goes first', () => {
    const f = withRaw(newSelfSignedCert('CN=Raw'), 50_000);
    const json = boundedFindingJson(f);
    expect(json.length).toBeLessThanOrEqual(MAX);
    expect(JSON.parse(json)).toEqual({ ...f, raw: {} });
  });

  test('then free text is cut; certificate facts, device, time and id survive', () => {
    const long = 'A'.repeat(40_000);
    const f: Finding = { ...withRaw(signtoolSign('x.exe', { subject: 'Contoso Dev' }), 10), commandLine: long, decodedCommand: long };
    f.signedFiles = Array.from({ length: 2_000 }, (_, i) => `C:\\out\\file${i}.dll`);
    const parsed: unknown = JSON.parse(boundedFindingJson(f));
    expect(isFinding(parsed)).toBe(true);
    const back = parsed as Finding;
    expect(back.commandLine.length).toBeLessThan(long.length);
    expect([back.id, back.timestamp, back.device, back.certificate, back.action, back.tool]).toEqual([f.id, f.timestamp, f.device, f.certificate, f.action, f.tool]);
  });

  test('rejects a bound too small to guarantee anything', () => {
    expect(() => boundedFindingJson(newSelfSignedCert(), MIN_BOUND_CHARS - 1)).toThrow(RangeError);
  });
});

describe('boundedIncidentJson', () => {
  test('an incident that fits is stored whole', () => {
    const incident = incidentOf([newSelfSignedCert()]);
    expect(JSON.parse(boundedIncidentJson(incident))).toEqual(incident);
  });

  test('evidence loses raw first, then the oldest findings; the rest stays valid', () => {
    const findings = Array.from({ length: 60 }, (_, i) => withRaw(newSelfSignedCert('CN=Many', { minutes: i, commandLine: `x ${'c'.repeat(1500)}` }), 2000));
    const incident = incidentOf(findings);
    const json = boundedIncidentJson(incident);
    expect(json.length).toBeLessThanOrEqual(MAX);
    const back = JSON.parse(json) as Incident;
    expect(validateIncident(back)).toEqual([]);
    expect(back.findings.length).toBeGreaterThan(0);
    expect(back.findings.map((f) => f.id)).toEqual(findings.slice(findings.length - back.findings.length).map((f) => f.id));
    expect(back.findings.every((f) => Object.keys(f.raw).length === 0)).toBe(true);
    expect({ ...back, findings: [] }).toEqual({ ...incident, findings: [] });
  });

  test('one enormous finding: no evidence, the incident itself intact', () => {
    const huge = { ...newSelfSignedCert('CN=One'), commandLine: 'q'.repeat(200_000) };
    const incident = incidentOf([huge]);
    const back = JSON.parse(boundedIncidentJson(incident)) as Incident;
    expect(back.findings.length).toBeLessThanOrEqual(1);
    expect(back.id).toBe(incident.id);
    expect(back.title).toBe(incident.title);
  });

  test('never fails and always fits, whatever the sizes', () => {
    const text = fc.string({ maxLength: 20_000, unit: 'binary' });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 12 }), text, fc.array(text, { maxLength: 400 }), (commandLines, title, ids) => {
        const findings = commandLines.map((c, i) => ({ ...newSelfSignedCert('CN=Prop', { minutes: i }), commandLine: c, raw: { c } }));
        const incident: Incident = { ...incidentOf(findings), title, findingIds: ids, accounts: ids };
        const json = boundedIncidentJson(incident);
        expect(json.length).toBeLessThanOrEqual(MAX);
        expect((JSON.parse(json) as Incident).id).toBe(incident.id);
        for (const f of findings) {
          const fj = boundedFindingJson({ ...f, decodedCommand: title, signedFiles: ids });
          expect(fj.length).toBeLessThanOrEqual(MAX);
          expect((JSON.parse(fj) as Finding).id).toBe(f.id);
        }
      }),
      { numRuns: 40 },
    );
  });
});

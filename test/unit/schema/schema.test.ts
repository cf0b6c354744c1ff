import findingSchema from '../../../shared/schema/finding.schema.json';
import incidentSchema from '../../../shared/schema/incident.schema.json';
import { buildIncidents } from '../../../shared/incidents/build';
import { FINDING_SCHEMA_ID, INCIDENT_SCHEMA_ID, isFinding, validateFinding, validateIncident } from '../../../shared/schema/validate';
import type { Finding } from '../../../shared/model/finding';
import type { Incident } from '../../../shared/model/incident';
import {
  at,
  certutilAddStore,
  exportPfxPowerShell,
  importCertificateRoot,
  makecertCreate,
  makeFinding,
  makeRuleContext,
  newSelfSignedCert,
  opensslCreate,
  opensslExportPfx,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  required?: string[];
  oneOf?: SchemaNode[];
  additionalProperties?: boolean;
}

/**
 * Every key the model has is declared, required and nothing more: walks a complete sample object
 * (the factories fill every field, and TypeScript makes them fill every field the type has).
 */
function expectSchemaMatches(node: SchemaNode, sample: Record<string, unknown>, path: string): void {
  const keys = Object.keys(sample).sort();
  expect({ path, keys: Object.keys(node.properties ?? {}).sort() }).toEqual({ path, keys });
  expect({ path, required: [...(node.required ?? [])].sort() }).toEqual({ path, required: keys });
  for (const key of keys) {
    const value = sample[key];
    const child = node.properties?.[key];
    if (!child || key === 'raw' || key === 'findings') continue;
    const objectNode = child.properties ? child : child.oneOf?.find((o) => o.properties);
    if (value && typeof value === 'object' && !Array.isArray(value) && objectNode) {
      expect({ path: `${path}/${key}`, additionalProperties: objectNode.additionalProperties }).toEqual({ path: `${path}/${key}`, additionalProperties: false });
      expectSchemaMatches(objectNode, value as Record<string, unknown>, `${path}/${key}`);
    }
  }
}

const allSteps = (): Finding[] => [
  newSelfSignedCert(),
  makecertCreate(),
  pvk2pfx(),
  opensslCreate(),
  opensslExportPfx(),
  signtoolSign(),
  setAuthenticode(),
  certutilAddStore('Root'),
  importCertificateRoot(),
  exportPfxPowerShell(),
];

describe('finding.schema.json', () => {
  test('is versioned v1', () => {
    expect(FINDING_SCHEMA_ID).toMatch(/\/v1\//);
    expect(findingSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  test('declares exactly the fields of Finding', () => {
    expectSchemaMatches(findingSchema as SchemaNode, makeFinding() as unknown as Record<string, unknown>, '');
  });

  test('every fixture step validates', () => {
    for (const f of allSteps()) expect({ id: f.commandLine, errors: validateFinding(f) }).toEqual({ id: f.commandLine, errors: [] });
  });

  test('raw is open; everything else is closed and typed', () => {
    const f = makeFinding({ raw: { AnyColumn: 1, Nested: { a: [1] } } });
    expect(isFinding(f)).toBe(true);
    expect(validateFinding({ ...f, extra: 1 })).toEqual(['/ must NOT have additional properties (extra)']);
    expect(validateFinding({ ...f, device: { ...f.device, ip: '10.0.0.1' } })).toEqual(['/device must NOT have additional properties (ip)']);
    expect(validateFinding({ ...f, tool: 'curl' })[0]).toMatch(/^\/tool must be equal to one of the allowed values/);
    expect(validateFinding({ ...f, timestamp: 'yesterday' })).toEqual(['/timestamp must match format "date-time"']);
    const { id: _id, ...noId } = f;
    expect(validateFinding(noId)).toEqual(["/ must have required property 'id'"]);
    expect(validateFinding('nope')).toEqual(['/ must be object']);
  });
});

describe('incident.schema.json', () => {
  const ctx = {
    tenantId: 'tenant-1',
    rule: makeRuleContext(),
    now: new Date(at(600)),
    groupingWindowMs: 86_400_000,
    chainWindowMs: 7_200_000,
    allowlistBaseUrl: 'https://hunt.contoso.com',
  };

  test('is versioned v1 and reuses the finding schema', () => {
    expect(INCIDENT_SCHEMA_ID).toMatch(/\/v1\//);
    expect(JSON.stringify(incidentSchema)).toContain(FINDING_SCHEMA_ID);
  });

  test('declares exactly the fields of Incident (chain and non-chain)', () => {
    const incidents = buildIncidents([newSelfSignedCert('CN=A'), setAuthenticode(undefined, { minutes: 5 }), newSelfSignedCert('CN=B', { minutes: 900 })], ctx);
    const chain = incidents.find((i) => i.chain)!;
    const single = incidents.find((i) => !i.chain)!;
    expectSchemaMatches(incidentSchema as SchemaNode, chain as unknown as Record<string, unknown>, '');
    expectSchemaMatches(incidentSchema as SchemaNode, single as unknown as Record<string, unknown>, '');
  });

  test('everything buildIncidents emits validates, for every kind of step', () => {
    const findings = allSteps().map((f, i) => ({ ...f, id: `f-${i}`, timestamp: at(i * 7) }));
    const incidents = buildIncidents(findings, ctx);
    expect(incidents.length).toBeGreaterThan(0);
    for (const incident of incidents) expect({ title: incident.title, errors: validateIncident(incident) }).toEqual({ title: incident.title, errors: [] });
  });

  test('rejects a broken incident with readable errors', () => {
    const [incident] = buildIncidents([newSelfSignedCert()], ctx) as [Incident];
    expect(validateIncident({ ...incident, severity: 'critical' })[0]).toMatch(/^\/severity must be equal to one of the allowed values/);
    expect(validateIncident({ ...incident, findings: [{ ...incident.findings[0], id: 5 }] })).toContain('/findings/0/id must be string');
    expect(validateIncident({ ...incident, chainLink: { linkedBy: 'magic' } }).length).toBeGreaterThan(0);
  });
});

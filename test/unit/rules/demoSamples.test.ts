/**
 * The demo's per-rule samples against the rule contract: every rule in rules/ has a sample, each
 * sample has the columns its rule's query projects, its rows normalise (the process sample keeps
 * its two deliberately broken rows), and the demo's Graph server answers each rendered rule query
 * from that rule's sample, only with the rows of the window.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeKql, graphTypeOf } from '../../../shared/kusto/validate';
import { DEMO_PROCESS_RULE, demoRuleIds, loadDemoSample, loadDemoSamples } from '../../../shared/demo/demo';
import { rowsForQuery, rowsForRuleQuery, sampleForQuery } from '../../../shared/demo/windowedReplay';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { loadRules } from '../../../shared/rules/loadRules';
import { renderQuery } from '../../../shared/rules/renderQuery';
import { ruleQueryModel } from '../../support/ruleQueryModel';

const rules = loadRules();
const samples = loadDemoSamples();
/** The demo's first backfill window (DEMO_NOW minus a day, minus the ingestion delay). */
const WINDOW = { start: new Date('2026-11-25T11:55:00.000Z'), end: new Date('2026-11-26T11:55:00.000Z') };

test('every rule has a sample; the demo runs every rule, the process rule first', () => {
  expect([...samples.keys()].sort()).toEqual(rules.map((r) => r.id).sort());
  expect(demoRuleIds()[0]).toBe(DEMO_PROCESS_RULE);
  expect([...demoRuleIds()].sort()).toEqual(rules.map((r) => r.id).sort());
  // Existing callers still get the process rule's sample.
  expect(loadDemoSample()).toEqual(samples.get(DEMO_PROCESS_RULE));
});

describe.each(rules.map((rule) => [rule.id, rule] as const))('%s demo sample', (id, rule) => {
  const sample = samples.get(id)!;

  it("has the columns the rule's query projects, with Graph types", () => {
    const columns = analyzeKql(renderQuery(rule, WINDOW)).resultColumns ?? [];
    expect(sample.schema).toEqual(columns.map((c) => ({ name: c.name, type: graphTypeOf(c.type) })));
  });

  it('normalises into findings of the rule (the process sample keeps its two broken rows)', () => {
    const { findings, rejected } = normaliseResults(sample, { ruleId: id });
    expect(rejected).toHaveLength(id === DEMO_PROCESS_RULE ? 2 : 0);
    expect(findings.length).toBeGreaterThan(0);
    const declared = rule.branches.map((b) => b.id as string);
    for (const f of findings) expect(declared).toContain(f.branch);
  });

  it("is what the demo's Graph server answers to the rule's query, windowed", () => {
    const query = renderQuery(rule, WINDOW);
    expect(sampleForQuery(samples, query, DEMO_PROCESS_RULE)).toBe(sample);
    expect(rowsForRuleQuery(samples, query, DEMO_PROCESS_RULE)).toEqual(rowsForQuery(sample, query));
    const narrow = renderQuery(rule, { start: new Date('2026-11-26T08:00:00Z'), end: new Date('2026-11-26T08:30:00Z') });
    for (const row of rowsForRuleQuery(samples, narrow, DEMO_PROCESS_RULE).results) {
      const ingested = Date.parse(String(row.IngestionTime));
      expect(ingested >= Date.parse('2026-11-26T08:00:00Z') && ingested < Date.parse('2026-11-26T08:30:00Z')).toBe(true);
    }
  });
});

test('a query without a rule comment gets the process sample; an unknown rule gets no rows', () => {
  const windowed = 'let WindowStart = datetime(2026-11-25T11:55:00Z);\nlet WindowEnd = datetime(2026-11-26T11:55:00Z);\nDeviceProcessEvents';
  expect(sampleForQuery(samples, windowed, DEMO_PROCESS_RULE)).toBe(samples.get(DEMO_PROCESS_RULE));
  expect(rowsForRuleQuery(samples, `${windowed}\n// Rule no-such-rule: x`, DEMO_PROCESS_RULE).results).toEqual([]);
});

test('the trust-store sample carries the chain device: FIN-WS-042 writing upd.cer into CurrentUser\\TrustedPublisher after the chain', () => {
  const { findings } = normaliseResults(samples.get('trust-store-tampering')!, { ruleId: 'trust-store-tampering' });
  const fin = findings.find((f) => f.device.name === 'fin-ws-042.contoso.local');
  expect(fin).toMatchObject({ tool: 'certutil', action: 'import-store', account: { name: 'jdoe' } });
  expect(fin?.certificate.store).toBe('CurrentUser\\TrustedPublisher');
  expect(fin?.certificate.files).toEqual(['C:\\Users\\jdoe\\AppData\\Local\\Temp\\upd.cer']);
  expect(fin?.timestamp.startsWith('2026-11-26T08:21')).toBe(true);
});

describe("the process sample holds only what rule t1587-002's query returns, as the query computes it", () => {
  const rule = rules.find((r) => r.id === DEMO_PROCESS_RULE)!;
  const model = ruleQueryModel(rule.query);
  const sample = samples.get(DEMO_PROCESS_RULE)!;
  const { rejected } = normaliseResults(sample, { ruleId: DEMO_PROCESS_RULE });
  const readable = sample.results.filter((_, i) => !rejected.some((r) => r.index === i));

  it("agrees with the rule's own positive and negative fixtures (the model is the query's)", () => {
    const fixture = (name: string) => (JSON.parse(readFileSync(join(rule.dir, 'fixtures', name), 'utf8')) as { results: Record<string, unknown>[] }).results;
    for (const row of fixture('positive.json')) {
      const { selected, DetectionBranch, IsSuspiciousParent, IsTempLocation, DecodedCommand } = model(row);
      expect({ id: row.ReportId, selected, DetectionBranch, IsSuspiciousParent, IsTempLocation, DecodedCommand }).toEqual({
        id: row.ReportId,
        selected: true,
        DetectionBranch: row.DetectionBranch,
        IsSuspiciousParent: row.IsSuspiciousParent,
        IsTempLocation: row.IsTempLocation,
        DecodedCommand: row.DecodedCommand,
      });
    }
    for (const row of fixture('negative.json')) expect({ id: row.ReportId, selected: model(row).selected }).toEqual({ id: row.ReportId, selected: false });
  });

  it('every readable row is selected, with the branch, flags and decoded command the query gives it', () => {
    for (const row of readable) {
      const { DetectionBranch, IsSuspiciousParent, IsTempLocation, DecodedCommand } = model(row);
      expect({ id: row.ReportId, DetectionBranch, IsSuspiciousParent, IsTempLocation, DecodedCommand }).toEqual({
        id: row.ReportId,
        DetectionBranch: row.DetectionBranch,
        IsSuspiciousParent: row.IsSuspiciousParent,
        IsTempLocation: row.IsTempLocation,
        DecodedCommand: row.DecodedCommand,
      });
    }
  });

  it("every branch of the rule, a renamed tool, a decoded -EncodedCommand and a looked-through shell are there", () => {
    expect(new Set(readable.map((r) => r.DetectionBranch))).toEqual(new Set(rule.branches.map((b) => b.id)));
    expect(readable.some((r) => String(r.FileName).toLowerCase() !== String(r.ProcessVersionInfoOriginalFileName).toLowerCase())).toBe(true);
    expect(readable.some((r) => r.DecodedCommand !== '')).toBe(true);
    expect(readable.some((r) => r.InitiatingProcessFileName === 'cmd.exe' && r.IsSuspiciousParent === true)).toBe(true);
  });

  it("is ordered by Timestamp as the query orders it, each row ingested after it happened and inside the demo's look-back", () => {
    const times = readable.map((r) => Date.parse(String(r.Timestamp)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    for (const row of readable) {
      const ingested = Date.parse(String(row.IngestionTime));
      expect({ id: row.ReportId, after: ingested >= Date.parse(String(row.Timestamp)), inWindow: ingested >= WINDOW.start.getTime() && ingested < WINDOW.end.getTime() }).toEqual({
        id: row.ReportId,
        after: true,
        inWindow: true,
      });
    }
  });

  it('has late arrivals: rows ingested hours after they happened, one of them from before the look-back began', () => {
    const late = readable.filter((r) => Date.parse(String(r.IngestionTime)) - Date.parse(String(r.Timestamp)) > 90 * 60_000);
    expect(late.length).toBeGreaterThanOrEqual(3);
    expect(late.some((r) => Date.parse(String(r.Timestamp)) < WINDOW.start.getTime())).toBe(true);
  });

  it('keeps the rows the seeded allowlist suppresses (the Azure DevOps build agent, Fiddler) and the kiosk', () => {
    const { findings } = normaliseResults(sample, { ruleId: DEMO_PROCESS_RULE });
    const agent = findings.filter((f) => f.device.name.startsWith('build-agent-') && f.parent.fileName === 'Agent.Worker.exe' && f.branch === 'SignTool-ExecutableSigning');
    expect(agent.length).toBeGreaterThanOrEqual(30);
    expect(findings.some((f) => f.parent.fileName === 'Fiddler.exe' && f.certificate.subject?.startsWith('CN=DO_NOT_TRUST_FiddlerRoot'))).toBe(true);
    expect(findings.some((f) => f.device.name.startsWith('kiosk-lobby-'))).toBe(true);
  });
});

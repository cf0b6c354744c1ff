/**
 * The demo's per-rule samples against the rule contract: every rule in rules/ has a sample, each
 * sample has the columns its rule's query projects, its rows normalise (the process sample keeps
 * its two deliberately broken rows), and the demo's Graph server answers each rendered rule query
 * from that rule's sample, only with the rows of the window.
 */
import { analyzeKql, graphTypeOf } from '../../../shared/kusto/validate';
import { DEMO_PROCESS_RULE, demoRuleIds, loadDemoSample, loadDemoSamples } from '../../../shared/demo/demo';
import { rowsForQuery, rowsForRuleQuery, sampleForQuery } from '../../../shared/demo/windowedReplay';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { loadRules } from '../../../shared/rules/loadRules';
import { renderQuery } from '../../../shared/rules/renderQuery';

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

import { huntRuleOf } from '../../../shared/app/huntRuntime';
import { hasErrors, validateKql } from '../../../shared/kusto/validate';
import { loadRules } from '../../../shared/rules/loadRules';

const window = { start: new Date('2026-11-26T10:00:00.000Z'), end: new Date('2026-11-26T10:10:00.000Z') };

test.each(loadRules().map((rule) => [rule.id, rule] as const))('%s runs bounded by the row limit and still parses', (_id, rule) => {
  const request = huntRuleOf(rule, 3_600_000, 25_000).render(window);
  expect(request.query.trimEnd().endsWith('| take 25000')).toBe(true);
  expect(request.query).toContain('datetime(2026-11-26T10:00:00.000Z)');
  expect(request.timespan).toBe('2026-11-26T09:00:00.000Z/2026-11-26T11:10:00.000Z');
  const diagnostics = validateKql(request.query);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(hasErrors(diagnostics)).toBe(false);
}, 60_000);

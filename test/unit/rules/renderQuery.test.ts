/**
 * Tests shared/rules/renderQuery.ts: window substitution into rule queries, the widened Graph
 * Timespan, and pivot rendering (including refusal of DeviceIds that could break out of the
 * KQL string literal).
 */
import fc from 'fast-check';
import { renderPivot, renderQuery, timespanFor } from '../../../shared/rules/renderQuery';

const RULE = {
  id: 'test-rule',
  query: 'let WindowStart = datetime({{WindowStart}});\nlet WindowEnd = datetime({{WindowEnd}});\nT | where ingestion_time() >= WindowStart and ingestion_time() < WindowEnd',
};
const START = new Date('2024-05-14T08:00:00Z');
const END = new Date('2024-05-14T08:10:00Z');
const PIVOT = { id: 'p', query: 'let D = "{{DeviceId}}";\nlet F = datetime({{From}});\nlet T = datetime({{To}});\nX' };

describe('renderQuery', () => {
  it('substitutes ISO 8601 UTC instants into the placeholders', () => {
    expect(renderQuery(RULE, { start: START, end: END })).toBe(
      'let WindowStart = datetime(2024-05-14T08:00:00.000Z);\nlet WindowEnd = datetime(2024-05-14T08:10:00.000Z);\n' +
        'T | where ingestion_time() >= WindowStart and ingestion_time() < WindowEnd',
    );
  });

  it('replaces every occurrence of a placeholder', () => {
    const rule = { id: 'r', query: '{{WindowStart}} {{WindowEnd}} {{WindowStart}}' };
    expect(renderQuery(rule, { start: START, end: END })).toBe('2024-05-14T08:00:00.000Z 2024-05-14T08:10:00.000Z 2024-05-14T08:00:00.000Z');
  });

  it('keeps millisecond precision', () => {
    const out = renderQuery(RULE, { start: new Date('2024-05-14T08:00:00.123Z'), end: new Date('2024-05-14T08:00:00.124Z') });
    expect(out).toContain('datetime(2024-05-14T08:00:00.123Z)');
    expect(out).toContain('datetime(2024-05-14T08:00:00.124Z)');
  });

  it('throws when start is not before end', () => {
    expect(() => renderQuery(RULE, { start: END, end: START })).toThrow(/test-rule.*must be before end/);
    expect(() => renderQuery(RULE, { start: START, end: START })).toThrow(RangeError);
  });

  it('throws on invalid dates', () => {
    expect(() => renderQuery(RULE, { start: new Date('nope'), end: END })).toThrow(/invalid date/);
  });

  it('throws when a placeholder is missing', () => {
    expect(() => renderQuery({ id: 'r', query: 'T | where ingestion_time() >= datetime({{WindowStart}})' }, { start: START, end: END })).toThrow(
      /r query: placeholder \{\{WindowEnd\}\} is missing/,
    );
    expect(() => renderQuery({ id: 'r', query: 'T | take 1' }, { start: START, end: END })).toThrow(/\{\{WindowStart\}\} is missing/);
  });

  it('throws when an unknown placeholder is left', () => {
    expect(() => renderQuery({ ...RULE, query: `${RULE.query} | where DeviceId == "{{DeviceId}}"` }, { start: START, end: END })).toThrow(
      /unknown placeholder \{\{DeviceId\}\}/,
    );
  });

  it('renders any valid window without leftovers (property)', () => {
    const instant = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 7 * 24 * 3600 * 1000 }), (start, lengthMs) => {
        const end = new Date(start.getTime() + lengthMs);
        const out = renderQuery(RULE, { start, end });
        return !out.includes('{{') && out.includes(`datetime(${start.toISOString()})`) && out.includes(`datetime(${end.toISOString()})`);
      }),
    );
  });
});

describe('timespanFor', () => {
  it('returns start/end widened by the margin on both sides', () => {
    expect(timespanFor({ start: START, end: END }, 60 * 60 * 1000)).toBe('2024-05-14T07:00:00.000Z/2024-05-14T09:10:00.000Z');
  });

  it('returns the window itself for a zero margin', () => {
    expect(timespanFor({ start: START, end: END }, 0)).toBe('2024-05-14T08:00:00.000Z/2024-05-14T08:10:00.000Z');
  });

  it('rejects negative or non-finite margins and bad windows', () => {
    expect(() => timespanFor({ start: START, end: END }, -1)).toThrow(RangeError);
    expect(() => timespanFor({ start: START, end: END }, Number.NaN)).toThrow(RangeError);
    expect(() => timespanFor({ start: END, end: START }, 0)).toThrow(/must be before end/);
  });

  it('always contains the window (property)', () => {
    const instant = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 86_400_000 }), fc.integer({ min: 0, max: 86_400_000 }), (start, lengthMs, margin) => {
        const end = new Date(start.getTime() + lengthMs);
        const [from, to] = timespanFor({ start, end }, margin).split('/');
        return Date.parse(from ?? '') === start.getTime() - margin && Date.parse(to ?? '') === end.getTime() + margin;
      }),
    );
  });
});

describe('renderPivot', () => {
  it('substitutes DeviceId, From and To', () => {
    expect(renderPivot(PIVOT, { deviceId: 'e28003b3048f83a1091d0d975ba2cbfd3a3e6e3f', from: START, to: END })).toBe(
      'let D = "e28003b3048f83a1091d0d975ba2cbfd3a3e6e3f";\nlet F = datetime(2024-05-14T08:00:00.000Z);\nlet T = datetime(2024-05-14T08:10:00.000Z);\nX',
    );
  });

  it('refuses a DeviceId that is not an identifier', () => {
    for (const deviceId of ['', 'abc" or 1==1 or "', 'a b', 'x\\"', '-leading']) {
      expect(() => renderPivot(PIVOT, { deviceId, from: START, to: END })).toThrow(/not an identifier/);
    }
  });

  it('refuses an empty time range', () => {
    expect(() => renderPivot(PIVOT, { deviceId: 'abc', from: END, to: START })).toThrow(/pivot p/);
  });
});

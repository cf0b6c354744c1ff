/** Allowlist files: CSV/JSON round trips, Sentinel watchlist shape, local loading, templates. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { validateEntryInput } from '../../../shared/allowlist/entry';
import { AllowlistFileError, CSV_COLUMNS, entriesToCsv, entriesToJson, loadAllowlistFile, parseAllowlistText, parseCsv } from '../../../shared/allowlist/file';
import { makeEntry } from './helpers';

const NOW = new Date('2025-03-01T00:00:00Z');

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'allowlist-file-'));
  const path = join(dir, name);
  await writeFile(path, text, 'utf8');
  return path;
}

describe('CSV', () => {
  test('parses quotes, escaped quotes, embedded newlines, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,b,c\r\n"x,1","say ""hi""","two\nlines"\n\nlast,,\n')).toEqual([
      ['a', 'b', 'c'],
      ['x,1', 'say "hi"', 'two\nlines'],
      ['last', '', ''],
    ]);
    expect(() => parseCsv('"open')).toThrow();
  });

  test('property: any cells survive serialise → parse', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é') });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const text = rows.map((r) => r.map((c) => (/[",\r\n]|^\s|\s$/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\r\n');
        // Rows consisting of one empty cell are blank lines, which the parser skips by design.
        fc.pre(rows.every((r) => r.some((c) => c !== '')));
        expect(parseCsv(text)).toEqual(rows);
      }),
    );
  });

  test('export is a Sentinel watchlist: header row, SearchKey = id; it imports back', () => {
    const entries = [
      makeEntry({ id: 'fiddler', conditions: { signerSubject: '*DO_NOT_TRUST, "Fiddler"*', tool: 'makecert' }, expiresAt: '2025-04-01T00:00:00.000Z', reason: 'dev proxy,\nsanctioned' }),
      makeEntry({ id: 'tenant-one', scope: { tenantId: 'T1' }, conditions: { thumbprint: 'ab12' }, enabled: false }),
    ];
    const csv = entriesToCsv(entries);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows[0]![0]).toBe('SearchKey');
    expect(rows.slice(1).map((r) => r[0])).toEqual(['fiddler', 'tenant-one']);
    const records = parseAllowlistText(csv, 'csv');
    expect(records[0]!.input).toEqual({
      id: 'fiddler',
      enabled: true,
      scope: 'global',
      conditions: { signerSubject: '*DO_NOT_TRUST, "Fiddler"*', tool: 'makecert' },
      reason: 'dev proxy,\nsanctioned',
      owner: 'secops',
      expiresAt: '2025-04-01T00:00:00.000Z',
      permanent: false,
    });
    expect(records[0]!.meta).toMatchObject({ createdBy: 'tester', hitCount: 0, deleted: false });
    expect(records[1]!.input).toMatchObject({ scope: { tenantId: 'T1' }, enabled: false, permanent: true });
  });
});

describe('JSON', () => {
  test('export records carry permanent so they re-validate as input', () => {
    const [record] = parseAllowlistText(entriesToJson([makeEntry({ conditions: { signerSubject: 'CN=Test', deviceName: 'ws01' }, expiresAt: null })]), 'json');
    expect(validateEntryInput(record!.input, { now: NOW, allowId: true }).ok).toBe(true);
  });

  test('accepts an array, { entries }, or one object; bad JSON is an AllowlistFileError', () => {
    expect(parseAllowlistText('[{"a":1},{"b":2}]', 'json')).toHaveLength(2);
    expect(parseAllowlistText('{"entries":[{"a":1}]}', 'json')).toHaveLength(1);
    expect(parseAllowlistText('{"a":1}', 'json')).toHaveLength(1);
    expect(() => parseAllowlistText('{', 'json')).toThrow(AllowlistFileError);
  });
});

describe('loadAllowlistFile', () => {
  test('fills owner and expiry for local evaluation; keeps expired entries', async () => {
    const path = await tempFile(
      'a.json',
      JSON.stringify([
        { id: 'a', conditions: { signerSubject: 'CN=x', deviceName: 'ws01' }, reason: 'r' },
        { conditions: { tool: 'openssl' }, reason: 'r', owner: 'o', expiresAt: '2020-01-01T00:00:00Z', createdBy: 'alice', hitCount: 4 },
        { conditions: { tool: 'openssl' }, reason: 'r', permanent: true },
      ]),
    );
    const entries = await loadAllowlistFile(path, { now: NOW });
    expect(entries.map((e) => [e.id, e.owner, e.expiresAt, e.createdBy, e.hitCount])).toEqual([
      ['a', 'unassigned', '2025-05-30T00:00:00.000Z', `file:${path}`, 0],
      ['file-entry-2', 'o', '2020-01-01T00:00:00.000Z', 'alice', 4],
      ['file-entry-3', 'unassigned', null, `file:${path}`, 0],
    ]);
  });

  test('reports every problem of every entry, and duplicate ids', async () => {
    const bad = await tempFile('bad.json', JSON.stringify([{ conditions: {}, reason: '' }, 5, { id: 'x', conditions: { tool: 'nmap' }, reason: 'r' }]));
    await expect(loadAllowlistFile(bad, { now: NOW })).rejects.toThrow(/entry 1: conditions.*\n.*entry 1: reason.*\n.*entry 2: \(entry\).*\n.*entry 3: conditions.tool/);
    const dup = await tempFile('dup.json', JSON.stringify([{ id: 'x', conditions: { tool: 'openssl' }, reason: 'r' }, { id: 'x', conditions: { tool: 'openssl' }, reason: 'r' }]));
    await expect(loadAllowlistFile(dup, { now: NOW })).rejects.toThrow(/duplicate id x/);
    await expect(loadAllowlistFile('/nonexistent/file.json')).rejects.toThrow(AllowlistFileError);
  });

  test('loads CSV by extension', async () => {
    const path = await tempFile('w.csv', entriesToCsv([makeEntry({ id: 'c1', conditions: { signerSubject: 'CN=Test', deviceName: 'ws01' }, expiresAt: '2025-04-01T00:00:00.000Z' })]));
    const [entry] = await loadAllowlistFile(path, { now: NOW });
    expect(entry).toMatchObject({ id: 'c1', conditions: { signerSubject: 'CN=Test', deviceName: 'ws01' }, owner: 'secops', permanent: false });
  });
});

describe('templates.json', () => {
  test('every template is disabled, explained, and valid once owner and expiry are given', async () => {
    const entries = await loadAllowlistFile(join(__dirname, '../../../shared/allowlist/templates.json'), { now: NOW, defaultOwner: 'secops' });
    expect(entries.map((e) => e.id)).toEqual([
      'tpl-internal-pki',
      'tpl-ci-jenkins',
      'tpl-ci-github-actions',
      'tpl-ci-azure-devops',
      'tpl-fiddler-root',
      'tpl-burp-suite-ca',
      'tpl-charles-proxy-ca',
    ]);
    for (const e of entries) {
      expect(e.enabled).toBe(false);
      expect(e.reason.length).toBeGreaterThan(40);
    }
    const conditions = entries.map((e) => e.conditions);
    // Subjects are anchored at their first attribute and pinned to devices (issue #15 item 8).
    for (const c of conditions.filter((c) => c.signerSubject !== undefined)) {
      expect(c.signerSubject).toMatch(/^CN=/);
      expect(c.deviceName ?? c.parentProcess ?? c.thumbprint).toBeDefined();
    }
    expect(conditions.map((c) => c.signerSubject)).toEqual(expect.arrayContaining([expect.stringMatching(/^CN=DO_NOT_TRUST_FiddlerRoot, /), expect.stringMatching(/^CN=PortSwigger CA, /), expect.stringMatching(/^CN=Charles Proxy CA \(\*\), /)]));
    expect(conditions.some((c) => c.parentProcess === 'Runner.Worker.exe')).toBe(true);
    expect(conditions.some((c) => c.parentProcess === 'Agent.Worker.exe')).toBe(true);
  });
});

/** Entry validation: every bad field reported, strict expiry rules, never throws. */
import fc from 'fast-check';
import type { FieldError } from '../../../shared/allowlist/entry';
import { isEntryActive, newEntry, parseIsoDateTime, validateEntryInput } from '../../../shared/allowlist/entry';
import { makeEntry } from './helpers';

const NOW = new Date('2025-03-01T00:00:00Z');
const OPTIONS = { now: NOW, maxLifetimeDays: 90 };

const valid = {
  conditions: { signerSubject: 'CN=Contoso Internal CA*', deviceName: 'build*' },
  scope: 'global',
  reason: 'Internal PKI issues code-signing certificates for build agents',
  owner: 'pki-team@contoso.com',
  expiresAt: '2025-04-01T00:00:00Z',
};

function fields(result: ReturnType<typeof validateEntryInput>): string[] {
  return result.ok ? [] : result.errors.map((e: FieldError) => e.field).sort();
}

describe('validateEntryInput', () => {
  test('accepts a valid entry and normalises it', () => {
    const result = validateEntryInput(valid, OPTIONS);
    expect(result).toEqual({
      ok: true,
      value: {
        conditions: valid.conditions,
        scope: 'global',
        reason: valid.reason,
        owner: valid.owner,
        expiresAt: '2025-04-01T00:00:00.000Z',
        permanent: false,
        enabled: true,
      },
    });
  });

  test('scope defaults to global; tenant scope is kept', () => {
    const { scope: _scope, ...rest } = valid;
    const a = validateEntryInput(rest, OPTIONS);
    expect(a.ok && a.value.scope).toBe('global');
    const b = validateEntryInput({ ...valid, scope: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' } }, OPTIONS);
    expect(b.ok && b.value.scope).toEqual({ tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
  });

  test('reports every bad field at once', () => {
    const result = validateEntryInput(
      {
        conditions: { signerSubject: '', thumbprint: 'xyz', branch: 'nope', tool: 7, colour: 'red' },
        scope: { tenantId: 'a/b', extra: 1 },
        reason: 'x'.repeat(1001),
        owner: 'bad\u0007owner',
        expiresAt: '2025-02-30T00:00:00Z',
        enabled: 'yes',
        hitCount: 5,
        surprise: true,
      },
      OPTIONS,
    );
    expect(fields(result)).toEqual([
      'conditions.branch',
      'conditions.colour',
      'conditions.signerSubject',
      'conditions.thumbprint',
      'conditions.tool',
      'enabled',
      'expiresAt',
      'hitCount',
      'owner',
      'reason',
      'scope.extra',
      'scope.tenantId',
      'surprise',
    ]);
  });

  test('required fields', () => {
    expect(fields(validateEntryInput({}, OPTIONS))).toEqual(['conditions', 'expiresAt', 'owner', 'reason']);
    expect(fields(validateEntryInput({ ...valid, conditions: {} }, OPTIONS))).toEqual(['conditions']);
    expect(fields(validateEntryInput({ ...valid, reason: '   ' }, OPTIONS))).toEqual(['reason']);
  });

  test('not an object', () => {
    for (const input of [null, undefined, 1, 'x', [], [valid]]) {
      expect(fields(validateEntryInput(input, OPTIONS))).toEqual(['']);
    }
  });

  test('expiry: future, within the max lifetime, explicit permanence', () => {
    expect(fields(validateEntryInput({ ...valid, expiresAt: '2025-02-28T00:00:00Z' }, OPTIONS))).toEqual(['expiresAt']);
    expect(fields(validateEntryInput({ ...valid, expiresAt: NOW.toISOString() }, OPTIONS))).toEqual(['expiresAt']);
    expect(fields(validateEntryInput({ ...valid, expiresAt: '2025-05-30T00:00:01Z' }, OPTIONS))).toEqual(['expiresAt']);
    expect(validateEntryInput({ ...valid, expiresAt: '2025-05-30T00:00:00Z' }, OPTIONS).ok).toBe(true);
    expect(validateEntryInput({ ...valid, expiresAt: '2025-05-30T00:00:00Z' }, { ...OPTIONS, maxLifetimeDays: 30 }).ok).toBe(false);
    expect(fields(validateEntryInput({ ...valid, expiresAt: null }, OPTIONS))).toEqual(['expiresAt']);
    expect(fields(validateEntryInput({ ...valid, expiresAt: 'tomorrow' }, OPTIONS))).toEqual(['expiresAt']);
    expect(fields(validateEntryInput({ ...valid, expiresAt: '2025-03-10' }, OPTIONS))).toEqual(['expiresAt']);
    const permanent = validateEntryInput({ ...valid, expiresAt: null, permanent: true }, OPTIONS);
    expect(permanent.ok && permanent.value.expiresAt).toBeNull();
    const { expiresAt: _e, ...noExpiry } = valid;
    expect(validateEntryInput({ ...noExpiry, permanent: true }, OPTIONS).ok).toBe(true);
    expect(fields(validateEntryInput({ ...valid, permanent: true }, OPTIONS))).toEqual(['expiresAt']);
    expect(fields(validateEntryInput({ ...noExpiry, permanent: 'true' }, OPTIONS))).toEqual(['permanent']);
    // Loading an exported file: an expired entry is fine (it just never matches).
    expect(validateEntryInput({ ...valid, expiresAt: '2020-01-01T00:00:00Z' }, { ...OPTIONS, enforceExpiryWindow: false }).ok).toBe(true);
  });

  test('conditions: wildcards only, branch/tool values, control and invisible characters', () => {
    expect(fields(validateEntryInput({ ...valid, conditions: { signerSubject: '**' } }, OPTIONS))).toEqual(['conditions.signerSubject']);
    expect(fields(validateEntryInput({ ...valid, conditions: { deviceName: '?*?' } }, OPTIONS))).toEqual(['conditions.deviceName']);
    expect(validateEntryInput({ ...valid, conditions: { branch: 'makecert-*', tool: 'OpenSSL' } }, OPTIONS).ok).toBe(true);
    expect(fields(validateEntryInput({ ...valid, conditions: { tool: 'nmap*' } }, OPTIONS))).toEqual(['conditions.tool']);
    expect(fields(validateEntryInput({ ...valid, conditions: { signerSubject: 'CN=a\u202eb' } }, OPTIONS))).toEqual(['conditions.signerSubject']);
    expect(fields(validateEntryInput({ ...valid, conditions: { signerSubject: 'CN=a\nb' } }, OPTIONS))).toEqual(['conditions.signerSubject']);
    expect(fields(validateEntryInput({ ...valid, conditions: { signerSubject: 'x'.repeat(513) } }, OPTIONS))).toEqual(['conditions.signerSubject']);
    expect(fields(validateEntryInput({ ...valid, conditions: 'CN=x' }, OPTIONS))).toEqual(['conditions']);
  });

  test('id: only when allowed, and well-formed', () => {
    expect(fields(validateEntryInput({ ...valid, id: 'my-entry' }, OPTIONS))).toEqual(['id']);
    const ok = validateEntryInput({ ...valid, id: 'my-entry.1' }, { ...OPTIONS, allowId: true });
    expect(ok.ok && ok.value.id).toBe('my-entry.1');
    expect(fields(validateEntryInput({ ...valid, id: 'a/b' }, { ...OPTIONS, allowId: true }))).toEqual(['id']);
    expect(fields(validateEntryInput({ ...valid, id: 5 }, { ...OPTIONS, allowId: true }))).toEqual(['id']);
  });

  test('property: never throws; ok only when the value re-validates', () => {
    const body = fc.oneof(
      fc.anything(),
      fc.record(
        {
          conditions: fc.oneof(
            fc.anything(),
            fc.dictionary(
              fc.constantFrom('signerSubject', 'thumbprint', 'tool', 'branch', 'deviceName', 'other'),
              fc.oneof(fc.string(), fc.constantFrom('*', 'abc*', 'openssl', 'CN=x', 'ab12'), fc.anything()),
            ),
          ),
          scope: fc.oneof(fc.constant('global'), fc.record({ tenantId: fc.string() }), fc.anything()),
          reason: fc.oneof(fc.string(), fc.anything()),
          owner: fc.oneof(fc.string(), fc.anything()),
          expiresAt: fc.oneof(
            fc.constant('2025-03-15T00:00:00Z'),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
            fc.anything(),
          ),
          permanent: fc.oneof(fc.boolean(), fc.anything()),
          enabled: fc.oneof(fc.boolean(), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(body, (input) => {
        const result = validateEntryInput(input, OPTIONS);
        if (!result.ok) {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors) expect(typeof e.message).toBe('string');
          return;
        }
        // An accepted value is itself valid input (idempotent), has a condition and an expiry rule.
        const { permanent, ...rest } = result.value;
        const again = validateEntryInput(permanent ? { ...rest, permanent } : rest, OPTIONS);
        expect(again).toEqual(result);
        expect(Object.keys(result.value.conditions).length).toBeGreaterThan(0);
        expect(result.value.expiresAt === null).toBe(permanent);
        // Invariants checked independently of the validator's own code paths.
        for (const v of Object.values(result.value.conditions)) {
          expect(v.trim()).toBe(v);
          expect(v.replace(/[*?]/g, '').length).toBeGreaterThan(0);
          // eslint-disable-next-line no-control-regex -- asserting their absence
          expect(/[\u0000-\u001f\u007f-\u009f]/.test(v)).toBe(false);
        }
        expect(result.value.reason.length).toBeGreaterThan(0);
        expect(result.value.owner.length).toBeGreaterThan(0);
        if (result.value.expiresAt !== null) {
          const t = Date.parse(result.value.expiresAt);
          expect(t).toBeGreaterThan(NOW.getTime());
          expect(t).toBeLessThanOrEqual(NOW.getTime() + 90 * 86400000);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('property: any known-bad mutation of a valid body is rejected and named', () => {
    const mutations: [string, fc.Arbitrary<unknown>][] = [
      ['conditions', fc.constantFrom({}, null, 'x', [], { signerSubject: '*' })],
      ['reason', fc.constantFrom('', '  ', 1, null, 'a\u0000b', 'x'.repeat(1001))],
      ['owner', fc.constantFrom('', 2, false, 'o\u202ewner')],
      ['expiresAt', fc.constantFrom('2024-01-01T00:00:00Z', '2030-01-01T00:00:00Z', 'soon', 0, '2025-13-01T00:00:00Z')],
      ['scope', fc.constantFrom('tenant', 1, { tenantId: '' }, { tenant: 'x' })],
      ['enabled', fc.constantFrom('true', 1, null)],
      ['createdBy', fc.string()],
      ['etag', fc.string()],
      ['unexpected', fc.anything()],
    ];
    const mutation = fc.oneof(...mutations.map(([field, arb]) => arb.map((value) => [field, value] as const)));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (applied) => {
        const body: Record<string, unknown> = { ...valid };
        for (const [field, value] of applied) body[field] = value;
        const result = validateEntryInput(body, OPTIONS);
        expect(result.ok).toBe(false);
        const named = fields(result).map((f) => f.split('.')[0]);
        for (const [field] of applied) expect(named).toContain(field);
      }),
      { numRuns: 1000 },
    );
  });
});

test('parseIsoDateTime rejects impossible dates and missing offsets', () => {
  expect(parseIsoDateTime('2024-02-29T00:00:00Z')).not.toBeNull();
  expect(parseIsoDateTime('2025-02-29T00:00:00Z')).toBeNull();
  expect(parseIsoDateTime('2025-01-01T24:00:00Z')).toBeNull();
  expect(parseIsoDateTime('2025-01-01T00:00:00')).toBeNull();
  expect(parseIsoDateTime('2025-01-01T10:00:00+02:00')?.toISOString()).toBe('2025-01-01T08:00:00.000Z');
});

test('newEntry and isEntryActive', () => {
  const result = validateEntryInput(valid, OPTIONS);
  if (!result.ok) throw new Error('fixture invalid');
  const entry = newEntry(result.value, { id: 'e1', actor: 'alice', now: NOW });
  expect(entry).toMatchObject({ id: 'e1', createdBy: 'alice', updatedBy: 'alice', hitCount: 0, deleted: false, etag: null });
  expect(isEntryActive(entry, NOW)).toBe(true);
  expect(isEntryActive(entry, new Date('2025-04-01T00:00:00Z'))).toBe(false);
  expect(isEntryActive(makeEntry({ expiresAt: null }), NOW)).toBe(true);
});

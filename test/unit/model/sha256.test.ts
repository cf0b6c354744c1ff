import { createHash } from 'node:crypto';
import { sha256Hex, sha256HexByObject } from '../../../shared/sha256';

describe('sha256Hex', () => {
  test.each(['', 'abc', 'dev-1|42|2026-01-01T00:00:00.000Z', '证书 😀 \u0000 tail', 'x'.repeat(100_000)])('one-shot and Hash object agree with the reference digest (%#)', (text) => {
    const reference = createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
    expect(sha256Hex(text)).toBe(reference);
    expect(sha256HexByObject(text)).toBe(reference);
  });

  test('the known digest of "abc" (FIPS 180-2)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

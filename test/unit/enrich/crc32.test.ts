import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { crc32 } from '../../../shared/enrich/crc32';

describe('crc32', () => {
  test('the standard check values', () => {
    expect(crc32(Buffer.from(''))).toBe(0);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  test('continues from a previous value as over the joined bytes', () => {
    const text = Buffer.from('DeviceProcessEvents | where FileName =~ "makecert.exe"', 'utf16le');
    for (const cut of [0, 1, 7, text.length - 1, text.length]) {
      expect(crc32(text.subarray(cut), crc32(text.subarray(0, cut)))).toBe(crc32(text));
    }
  });

  test('agrees with the CRC that gzip writes in its trailer', () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
    const gz = gzipSync(bytes);
    expect(crc32(bytes)).toBe(gz.readUInt32LE(gz.length - 8));
  });

  test('the project does not use zlib.crc32 (Node 20.15+ only; engines says any Node 20)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && /import\s*\{[^}]*\bcrc32\b[^}]*\}\s*from\s*'(?:node:)?zlib'|\bzlib\.crc32\(/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    for (const dir of ['shared', 'functions', 'scripts']) walk(join(__dirname, '..', '..', '..', dir));
    expect(offenders).toEqual([]);
  });
});

/**
 * CRC-32 (the IEEE 802.3 polynomial that gzip's trailer uses), table-driven. `zlib.crc32` would do
 * the same but exists only from Node 20.15 / 22.2, and the app runs on any Node 20. Pure.
 */

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * The CRC-32 of `bytes`, continuing from `previous` (the CRC of the bytes before them, 0 to
 * start), as an unsigned 32-bit integer: crc32(b, crc32(a)) === crc32(a + b), like zlib.crc32.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous;
  for (let i = 0; i < bytes.length; i++) crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

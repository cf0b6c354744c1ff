/**
 * SHA-256 hex digest of a string (UTF-8). Ids of findings, stories and messages are made per row
 * and per incident: Node's one-shot `crypto.hash` (Node 20.12+) costs a fraction of a
 * `createHash` object per call; earlier Node 20 releases (engines allows any) get the same digest
 * the long way.
 */
import * as crypto from 'node:crypto';

// Read at run time: the typings know `hash`, Node 20.0-20.11 does not.
const oneShot = typeof (crypto as Partial<typeof crypto>).hash === 'function' ? crypto.hash : null;

export function sha256Hex(text: string): string {
  return oneShot !== null ? oneShot('sha256', text, 'hex') : sha256HexByObject(text);
}

/** The digest through a Hash object: the fallback, and the reference the tests compare with. */
export function sha256HexByObject(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

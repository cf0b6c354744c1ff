/**
 * PowerShell's -EncodedCommand: recognising the switch in all the spellings powershell.exe and
 * pwsh accept, and decoding its value (base64 of the UTF-16LE script).
 */
import { optionName } from './options';

/**
 * True for `-EncodedCommand` and any prefix of it (`-e`, `-en`, `-enc`, ...), its `-ec` alias,
 * case-insensitive, with `-`, `--`, `/` or a typographic dash. `-ex`/`-ep` (ExecutionPolicy) are not.
 */
export function isEncodedCommandSwitch(text: string): boolean {
  const name = optionName(text, true);
  return name !== null && name.length > 0 && (name === 'ec' || 'encodedcommand'.startsWith(name));
}

/**
 * Decodes an -EncodedCommand value to the script PowerShell runs, or null when it is not base64.
 * Whitespace is ignored (telemetry wraps long values); a byte-order mark is dropped.
 */
export function decodeEncodedCommand(value: string): string | null {
  const compact = value.replace(/\s+/g, '');
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return null;
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length < 2) return null;
  const text = bytes.toString('utf16le');
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

/**
 * JSON for Table Storage string properties that may hold attacker-controlled text (command lines,
 * subjects): non-ASCII characters written as \uXXXX, which JSON.parse reads back unchanged. Azurite
 * was seen to corrupt multi-byte characters split across network reads of a large entity (three
 * U+FFFD for one CJK character), and an ASCII string's length is also its stored size, so the
 * 32K-character property bounds measured on it hold.
 */
export function toStoredJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

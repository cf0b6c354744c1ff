/**
 * Table Storage keys: the one place that escapes them. PartitionKey and RowKey may not hold
 * `/ \ # ?` or control characters; `|` separates the parts of our composite keys. Each part is
 * percent-encoded (encodeURIComponent plus `! ' ( ) *`), which is reversible and leaves ordinary
 * ids (`t1587-002`, `global`, hex hashes) as they are.
 */

export function escapeKey(part: string): string {
  return encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function unescapeKey(key: string): string {
  return decodeURIComponent(key);
}

/** `tenant|rule|device`, each part escaped, so the separator stays unambiguous. */
export function compositeKey(...parts: string[]): string {
  return parts.map(escapeKey).join('|');
}

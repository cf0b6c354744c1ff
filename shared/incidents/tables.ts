/**
 * Table storage limits and helpers shared by the incident stores (the incidents table and the
 * recent chain steps): key escaping, the size a string property may have, status checks and
 * batched transactions. Keeping them in one place keeps both stores within the same limits.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';

/** A string property holds at most 64 KiB (32K UTF-16 chars); keep a margin. */
export const MAX_PROPERTY_CHARS = 30_000;
/** Table service: at most 100 operations in one entity group transaction. */
export const MAX_TRANSACTION_ACTIONS = 100;
/**
 * A transaction body is capped at 4 MiB. Counted in UTF-8 bytes of the entities' JSON (a
 * 30,000-char property of non-ASCII text is up to 90 KB on the wire), with room for the
 * multipart framing around each operation.
 */
export const MAX_TRANSACTION_BYTES = 2_000_000;

export function hasStatus(error: unknown, ...statuses: number[]): boolean {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return false;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && statuses.includes(status);
}

/**
 * Submits actions as entity group transactions: grouped by partition (a transaction may only
 * touch one), at most 100 actions and a bounded body each, in the order given within a partition.
 */
export async function submitInBatches(table: TableClient, actions: readonly TransactionAction[]): Promise<void> {
  const byPartition = new Map<string, TransactionAction[]>();
  for (const action of actions) {
    const pk = action[1].partitionKey;
    byPartition.set(pk, [...(byPartition.get(pk) ?? []), action]);
  }
  for (const list of byPartition.values()) {
    let batch: TransactionAction[] = [];
    let size = 0;
    for (const action of list) {
      const actionSize = Buffer.byteLength(JSON.stringify(action[1]), 'utf8');
      if (batch.length > 0 && (batch.length >= MAX_TRANSACTION_ACTIONS || size + actionSize > MAX_TRANSACTION_BYTES)) {
        await table.submitTransaction(batch);
        batch = [];
        size = 0;
      }
      batch.push(action);
      size += actionSize;
    }
    if (batch.length > 0) await table.submitTransaction(batch);
  }
}

/**
 * Announcing allowlist changes. Every create/update/delete is pushed through an
 * AllowlistChangeNotifier after it is stored, so that blinding a detection is always visible to
 * someone other than the person who did it. The default writes one clearly marked structured
 * log record; Teams delivery plugs in later behind the same small interface.
 */
import type { BreadthOverride } from './breadth';
import type { AllowlistEntry } from './entry';

export type AllowlistAction = 'create' | 'update' | 'delete';

export interface AllowlistChange {
  action: AllowlistAction;
  entryId: string;
  before: AllowlistEntry | null;
  after: AllowlistEntry | null;
  actor: string;
  reason: string;
  /** ISO 8601 time of the change. */
  at: string;
  /** The writer's confirmation of a broad entry (or one that hides a chain), if one was needed. */
  override?: BreadthOverride | null;
}

export interface AllowlistChangeNotifier {
  announce(change: AllowlistChange): Promise<void>;
}

/** Satisfied by `console` and by an Azure Functions InvocationContext. */
export interface WarnLogger {
  warn(...args: unknown[]): void;
}

/** The marker every change record carries, for log queries and alerts. */
export const ALLOWLIST_CHANGE_MARKER = 'ALLOWLIST_CHANGE';

export function createLogChangeNotifier(logger: WarnLogger): AllowlistChangeNotifier {
  return {
    async announce(change) {
      const record = {
        marker: ALLOWLIST_CHANGE_MARKER,
        action: change.action,
        entryId: change.entryId,
        actor: change.actor,
        reason: change.reason,
        at: change.at,
        before: change.before,
        after: change.after,
        override: change.override ?? null,
      };
      // Warn level on purpose: an allowlist change weakens detection and should stand out.
      logger.warn(`[${ALLOWLIST_CHANGE_MARKER}] ${change.action} ${change.entryId} by ${change.actor}: ${JSON.stringify(record)}`);
    },
  };
}

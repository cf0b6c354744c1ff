/**
 * What changed between two states of an entry, field by field, as text: the change announcement
 * (card and webhook), the entry page's history and its conflict view all show the same diff.
 */
import type { AllowlistEntry } from './entry';
import { CONDITION_FIELDS, scopeKey } from './entry';

export interface FieldChange {
  field: string;
  before: string | null;
  after: string | null;
}

/** The fields a reader needs to judge a change, as text; absent = null. */
export function entryFields(entry: AllowlistEntry | null): Map<string, string | null> {
  const fields = new Map<string, string | null>();
  if (!entry) return fields;
  for (const field of CONDITION_FIELDS) fields.set(`conditions.${field}`, entry.conditions[field] ?? null);
  fields.set('scope', scopeKey(entry.scope));
  fields.set('enabled', String(entry.enabled));
  fields.set('expiresAt', entry.expiresAt);
  fields.set('permanent', String(entry.permanent === true));
  fields.set('owner', entry.owner);
  fields.set('reason', entry.reason);
  fields.set('deleted', String(entry.deleted));
  return fields;
}

/** Every field whose value differs between before and after (all of after's for a creation). */
export function entryDiff(before: AllowlistEntry | null, after: AllowlistEntry | null): FieldChange[] {
  const b = entryFields(before);
  const a = entryFields(after);
  const out: FieldChange[] = [];
  for (const field of new Set([...b.keys(), ...a.keys()])) {
    const was = b.get(field) ?? null;
    const is = a.get(field) ?? null;
    if (was !== is) out.push({ field, before: was, after: is });
  }
  return out;
}

/**
 * How each allowlist condition is named to people: the page's form and lists, and the Teams card
 * of an allowlist change. Kept free of runtime imports, so the delivery function can read it
 * without loading the allowlist's matcher.
 */
import type { ConditionField } from './entry';

export const CONDITION_LABELS: Readonly<Record<ConditionField, string>> = {
  signerSubject: 'Signer subject',
  thumbprint: 'Thumbprint',
  certificateFile: 'Certificate file',
  deviceName: 'Device name',
  account: 'Account',
  parentProcess: 'Parent process',
  branch: 'Branch',
  tool: 'Tool',
};

/** The label of a condition field, or the field's own name for one this version does not know. */
export function conditionLabel(field: string): string {
  return (CONDITION_LABELS as Readonly<Record<string, string>>)[field] ?? field;
}

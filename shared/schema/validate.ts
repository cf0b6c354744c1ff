/**
 * Validators for the versioned JSON Schemas of the Finding and the Incident (the webhook payload),
 * compiled once, on first use, with ajv (draft 2020-12, formats on). They return readable errors rather than
 * throwing, so callers can log every problem of a payload at once.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import findingSchema from './finding.schema.json';
import incidentSchema from './incident.schema.json';

export const FINDING_SCHEMA_ID = findingSchema.$id;
export const INCIDENT_SCHEMA_ID = incidentSchema.$id;

interface Validators {
  finding: ValidateFunction<Finding>;
  incident: ValidateFunction<Incident>;
}

let validators: Validators | undefined;

/**
 * Compiles both schemas on first use, not at module load: compiling costs ~100 ms, which every
 * cold start of a bundle that merely imports this module would otherwise pay.
 */
function compiledValidators(): Validators {
  if (validators) return validators;
  // allErrors: report everything wrong with a payload, not just the first problem.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addSchema(findingSchema);
  ajv.addSchema(incidentSchema);
  const compiled = <T>(id: string): ValidateFunction<T> => {
    const fn = ajv.getSchema<T>(id);
    if (!fn) throw new Error(`schema ${id} did not compile`);
    return fn;
  };
  validators = { finding: compiled<Finding>(FINDING_SCHEMA_ID), incident: compiled<Incident>(INCIDENT_SCHEMA_ID) };
  return validators;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
}

/** Errors of `value` against finding.schema.json v1; empty when valid. */
export function validateFinding(value: unknown): string[] {
  const validate = compiledValidators().finding;
  return validate(value) ? [] : describe(validate.errors);
}

/** Errors of `value` against incident.schema.json v1 (findings included); empty when valid. */
export function validateIncident(value: unknown): string[] {
  const validate = compiledValidators().incident;
  return validate(value) ? [] : describe(validate.errors);
}

export function isFinding(value: unknown): value is Finding {
  return compiledValidators().finding(value);
}

export function isIncident(value: unknown): value is Incident {
  return compiledValidators().incident(value);
}

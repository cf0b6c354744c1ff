/** Helpers for integration tests against the run's Azurite (see globalSetup.ts). */
import { randomBytes } from 'node:crypto';

export function azuriteConnectionString(): string {
  const value = process.env.AZURITE_CONNECTION_STRING;
  if (!value) throw new Error('AZURITE_CONNECTION_STRING is not set: run tests through jest (globalSetup starts Azurite)');
  return value;
}

/** A unique, valid table or queue name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`.toLowerCase().replace(/[^a-z0-9]/g, '');
}

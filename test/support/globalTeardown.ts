import type { AzuriteInstance } from '../../shared/storage/azurite';

export default async function globalTeardown(): Promise<void> {
  const azurite = (globalThis as Record<string, unknown>).__AZURITE__ as AzuriteInstance | undefined;
  await azurite?.stop();
}

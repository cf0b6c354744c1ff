/**
 * Starts one in-memory Azurite for the whole jest run and exports its connection string to the
 * workers as AZURITE_CONNECTION_STRING. Each test uses its own table and queue names.
 */
import { startAzurite } from '../../shared/storage/azurite';

export default async function globalSetup(): Promise<void> {
  const azurite = await startAzurite();
  process.env.AZURITE_CONNECTION_STRING = azurite.connectionString;
  process.env.AZURITE_TABLE_URL = azurite.tableUrl;
  process.env.AZURITE_QUEUE_URL = azurite.queueUrl;
  process.env.AZURITE_PID = String(azurite.pid ?? '');
  (globalThis as Record<string, unknown>).__AZURITE__ = azurite;
}

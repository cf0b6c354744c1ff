/**
 * Table and Queue clients from the Storage setting: a connection string locally (Azurite,
 * `UseDevelopmentStorage=true`) or identity-based URIs with a managed identity in Azure.
 * An optional pipeline policy lets the benchmark count round trips.
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { QueueClient } from '@azure/storage-queue';
import type { StorageConnection } from '../config/settings';

/** Minimal shape of an Azure core pipeline policy (kept structural to avoid a direct dependency). */
export interface StoragePolicy {
  name: string;
  sendRequest(request: unknown, next: (request: unknown) => Promise<unknown>): Promise<unknown>;
}

export interface StorageFactoryOptions {
  policies?: StoragePolicy[];
}

function credentialFor(clientId: string | null): TokenCredential {
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

function isInsecure(connectionString: string): boolean {
  return /UseDevelopmentStorage=true/i.test(connectionString) || /DefaultEndpointsProtocol=http;/i.test(connectionString) || /Endpoint=http:/i.test(connectionString);
}

/**
 * A QueueClient with extra pipeline policies. @azure/storage-queue (12.x) must not be given them
 * as `additionalPolicies`: it hands its options both to createClientPipeline (which adds them) and
 * to the ServiceClient built on that same pipeline (which adds them again), so every request
 * failed with "Duplicate policy names not allowed in pipeline". Here each is added exactly once,
 * per call, to this client's own pipeline (a new one per client, so policies may be shared).
 */
class PolicyQueueClient extends QueueClient {
  constructor(urlOrConnectionString: string, credentialOrQueueName: TokenCredential | string, policies: readonly StoragePolicy[]) {
    if (typeof credentialOrQueueName === 'string') super(urlOrConnectionString, credentialOrQueueName);
    else super(urlOrConnectionString, credentialOrQueueName);
    const pipeline = this.storageClientContext.pipeline;
    for (const policy of policies) pipeline.addPolicy(policy as unknown as Parameters<typeof pipeline.addPolicy>[0]);
  }
}

export class StorageFactory {
  private readonly credential: TokenCredential | null;

  constructor(
    private readonly connection: StorageConnection,
    private readonly options: StorageFactoryOptions = {},
  ) {
    this.credential = connection.kind === 'identity' ? credentialFor(connection.clientId) : null;
  }

  private pipelineOptions(): Record<string, unknown> {
    const policies = (this.options.policies ?? []).map((policy) => ({ policy, position: 'perCall' as const }));
    return policies.length > 0 ? { additionalPolicies: policies } : {};
  }

  table(name: string): TableClient {
    if (this.connection.kind === 'identity' && this.credential) {
      return new TableClient(this.connection.tableServiceUri, name, this.credential, this.pipelineOptions());
    }
    const cs = this.connection.kind === 'connection-string' ? this.connection.connectionString : '';
    return TableClient.fromConnectionString(cs, name, {
      allowInsecureConnection: isInsecure(cs),
      ...this.pipelineOptions(),
    });
  }

  tableService(): TableServiceClient {
    if (this.connection.kind === 'identity' && this.credential) {
      return new TableServiceClient(this.connection.tableServiceUri, this.credential, this.pipelineOptions());
    }
    const cs = this.connection.kind === 'connection-string' ? this.connection.connectionString : '';
    return TableServiceClient.fromConnectionString(cs, { allowInsecureConnection: isInsecure(cs), ...this.pipelineOptions() });
  }

  queue(name: string): QueueClient {
    const policies = this.options.policies ?? [];
    if (this.connection.kind === 'identity' && this.credential) {
      return new PolicyQueueClient(`${this.connection.queueServiceUri.replace(/\/+$/, '')}/${name}`, this.credential, policies);
    }
    const cs = this.connection.kind === 'connection-string' ? this.connection.connectionString : '';
    return new PolicyQueueClient(cs, name, policies);
  }
}

/** Creates each table once per process; Azure answers 409 when it exists, which is fine. */
const ensured = new Set<string>();
export async function ensureTable(client: TableClient): Promise<TableClient> {
  // client.url is the account's table endpoint: the table name makes the key.
  const key = `${client.url}/${client.tableName}`;
  if (!ensured.has(key)) {
    await client.createTable();
    ensured.add(key);
  }
  return client;
}

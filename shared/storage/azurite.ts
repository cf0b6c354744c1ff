/**
 * Starts Azurite (Table + Queue) in memory from node_modules on free loopback ports, for the
 * demo and the integration tests. Production never calls this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteInstance {
  tableUrl: string;
  queueUrl: string;
  connectionString: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on port ${port} in time`);
}

export function connectionStringFor(tableUrl: string, queueUrl: string): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `TableEndpoint=${tableUrl};QueueEndpoint=${queueUrl};`
  );
}

/**
 * Azurite's command line. `--disableTelemetry` is not optional: Azurite 3.35 otherwise reports
 * to a telemetry endpoint, which a user's demo and CI must never try to reach.
 */
export function azuriteArguments(ports: { table: number; queue: number; blob: number }): string[] {
  return [
    '--inMemoryPersistence',
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    '--disableProductStyleUrl',
    '--blobHost', '127.0.0.1', '--blobPort', String(ports.blob),
    '--queueHost', '127.0.0.1', '--queuePort', String(ports.queue),
    '--tableHost', '127.0.0.1', '--tablePort', String(ports.table),
  ];
}

export async function startAzurite(options: { timeoutMs?: number } = {}): Promise<AzuriteInstance> {
  const [tablePort, queuePort, blobPort] = [await freePort(), await freePort(), await freePort()];
  const entry = require.resolve('azurite/dist/src/azurite.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [entry, ...azuriteArguments({ table: tablePort, queue: queuePort, blob: blobPort })],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + (options.timeoutMs ?? 30000);
  try {
    await Promise.race([
      Promise.all([waitForPort(tablePort, deadline), waitForPort(queuePort, deadline)]),
      new Promise((_, reject) =>
        child.once('exit', (code) => reject(new Error(`Azurite exited early (code ${code}): ${stderr}`))),
      ),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const tableUrl = `http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`;
  const queueUrl = `http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT}`;
  return {
    tableUrl,
    queueUrl,
    connectionString: connectionStringFor(tableUrl, queueUrl),
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

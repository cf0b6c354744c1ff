/**
 * Who a CLI change is recorded as. Against real storage the audit trail gets the identity the
 * storage credential signs in as (read from the claims of its access token: upn or appid, and the
 * object id), so nobody can write a change under another name. A free `--actor` is accepted only
 * against local development storage (Azurite, `UseDevelopmentStorage=true`), where there is no
 * identity to read and the audit trail protects nothing real.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { StorageConnection } from '../config/settings';

/** The scope of a Table/Queue Storage token: the credential the CLI's writes go out with. */
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';

export class ActorError extends Error {
  override readonly name = 'ActorError';
}

/** Local development storage: Azurite or the emulator shortcut, over plain http or loopback. */
export function isDevelopmentStorage(connection: StorageConnection): boolean {
  if (connection.kind === 'identity') return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(connection.tableServiceUri);
  const cs = connection.connectionString;
  return (
    /UseDevelopmentStorage=true/i.test(cs) ||
    /AccountName=devstoreaccount1/i.test(cs) ||
    /(Table|Queue|Blob)Endpoint=http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(cs)
  );
}

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new ActorError('the access token is not a JWT; cannot tell who is signed in');
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ActorError('the access token payload is unreadable; cannot tell who is signed in');
}

/**
 * `upn (oid)` for a person, `app:<appid> (oid)` for a service principal or managed identity. The
 * token is not verified here: it is our own credential's token, read only to name the caller; the
 * storage service verifies it on every write.
 */
export function actorFromAccessToken(token: string): string {
  const claims = claimsOf(token);
  const text = (key: string): string | null => {
    const v = claims[key];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
  };
  const person = text('upn') ?? text('unique_name') ?? text('preferred_username');
  const app = text('appid') ?? text('azp');
  const oid = text('oid');
  const who = person ?? (app ? `app:${app}` : null);
  if (!who && !oid) throw new ActorError('the access token names no upn, oid or appid; cannot tell who is signed in');
  const name = who && oid ? `${who} (${oid})` : (who ?? `oid:${oid}`);
  return name.slice(0, 256);
}

/** The credential the storage connection uses (or would use) to sign in. */
export function storageCredential(connection: StorageConnection): TokenCredential {
  return connection.kind === 'identity' && connection.clientId ? new ManagedIdentityCredential({ clientId: connection.clientId }) : new DefaultAzureCredential();
}

export interface CliActorInput {
  storage: StorageConnection;
  actorFlag: string | undefined;
  /** $USER, for the development default. */
  user: string | undefined;
  credential: () => TokenCredential;
}

export async function resolveCliActor(input: CliActorInput): Promise<string> {
  if (isDevelopmentStorage(input.storage)) return input.actorFlag ?? `cli:${input.user ?? 'unknown'}`;
  if (input.actorFlag !== undefined) {
    throw new ActorError('--actor is only accepted against local development storage (Azurite); against Azure the change is recorded as the identity you are signed in as');
  }
  let token: string;
  try {
    const access = await input.credential().getToken(STORAGE_SCOPE);
    if (!access) throw new Error('no token returned');
    token = access.token;
  } catch (error) {
    throw new ActorError(`cannot tell who is signed in (sign in with "az login", or run where a managed identity is available): ${(error as Error).message}`);
  }
  return actorFromAccessToken(token);
}

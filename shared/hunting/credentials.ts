/**
 * Builds the @azure/identity TokenCredential the Graph client authenticates with, from plain
 * configuration. Every credential gets the national cloud's authority host (see clouds.ts), so a
 * US Gov or China deployment asks the right Entra instance for its Graph token.
 */
import type { TokenCredential } from '@azure/identity';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
} from '@azure/identity';
import { GRAPH_CLOUDS } from './clouds';
import { HuntingConfigurationError } from './errors';

interface CloudAuthority {
  /** Entra authority, e.g. `resolveGraphEndpoint(url).authorityHost`; the global one when omitted. */
  authorityHost?: string;
}

export type TokenCredentialOptions =
  | ({ kind: 'managed-identity'; /** User-assigned identity; system-assigned when omitted. */ clientId?: string } & CloudAuthority)
  | ({ kind: 'client-secret'; tenantId: string; clientId: string; clientSecret: string } & CloudAuthority)
  | ({ kind: 'client-certificate'; tenantId: string; clientId: string; certificatePath: string } & CloudAuthority)
  /** The certificate as PEM text (private key + certificate), e.g. a Key Vault certificate's secret. */
  | ({ kind: 'client-certificate-pem'; tenantId: string; clientId: string; certificate: string } & CloudAuthority)
  | ({ kind: 'default'; /** Passed on as DefaultAzureCredential's managedIdentityClientId. */ managedIdentityClientId?: string } & CloudAuthority);

export type TokenCredentialKind = TokenCredentialOptions['kind'];

function required(kind: TokenCredentialKind, field: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new HuntingConfigurationError(`Credential kind '${kind}' needs a non-empty ${field}.`);
  }
  return value;
}

function optional(kind: TokenCredentialKind, field: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : required(kind, field, value);
}

export function createTokenCredential(options: TokenCredentialOptions): TokenCredential {
  const authorityHost = options.authorityHost ?? GRAPH_CLOUDS.global.authorityHost;
  switch (options.kind) {
    case 'managed-identity': {
      const clientId = optional(options.kind, 'clientId', options.clientId);
      return new ManagedIdentityCredential({ authorityHost, ...(clientId === undefined ? {} : { clientId }) });
    }
    case 'client-secret':
      return new ClientSecretCredential(
        required(options.kind, 'tenantId', options.tenantId),
        required(options.kind, 'clientId', options.clientId),
        required(options.kind, 'clientSecret', options.clientSecret),
        { authorityHost },
      );
    case 'client-certificate':
      return new ClientCertificateCredential(
        required(options.kind, 'tenantId', options.tenantId),
        required(options.kind, 'clientId', options.clientId),
        required(options.kind, 'certificatePath', options.certificatePath),
        { authorityHost },
      );
    case 'client-certificate-pem':
      return new ClientCertificateCredential(
        required(options.kind, 'tenantId', options.tenantId),
        required(options.kind, 'clientId', options.clientId),
        { certificate: required(options.kind, 'certificate', options.certificate) },
        { authorityHost },
      );
    case 'default': {
      const managedIdentityClientId = optional(options.kind, 'managedIdentityClientId', options.managedIdentityClientId);
      return new DefaultAzureCredential({
        authorityHost,
        ...(managedIdentityClientId === undefined ? {} : { managedIdentityClientId }),
      });
    }
    default: {
      // Configuration arrives from files and the environment, so guard the union at run time too.
      // Only the kind is printed: the rest may hold a secret.
      const unknown: { kind?: unknown } = options satisfies never;
      throw new HuntingConfigurationError(`Unknown credential kind: ${JSON.stringify(unknown.kind)}.`);
    }
  }
}

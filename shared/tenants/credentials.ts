/**
 * Credentials of the provider pattern: ONE multi-tenant app registration, admin-consented in each
 * customer tenant, that authenticates in every customer tenant as itself. Per tenant this is a
 * `ClientCertificateCredential(customerTenantId, clientId, certificate)` with the deployment's
 * certificate (PROVIDER_APP_CERTIFICATE: a Key Vault certificate's PEM; locally also
 * GRAPH_CLIENT_CERTIFICATE_PATH), or a client secret read from the app setting the tenant names.
 * Each tenant keeps one credential and its tokens, reused until shortly before they expire, so
 * 200 tenants cost 200 token requests an hour, not one per query.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { resolveGraphEndpoint } from '../hunting/clouds';
import { createTokenCredential, type TokenCredentialOptions } from '../hunting/credentials';
import { HuntingConfigurationError } from '../hunting/errors';
import type { Tenant } from './tenant';

/** Renew a token this long before it expires, so no query starts with one about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** The provider's app registration, as the deployment knows it. */
export interface ProviderApp {
  clientId: string | null;
  /** PEM text (private key + certificate), e.g. a Key Vault reference to the certificate's secret. */
  certificatePem: string | null;
  certificatePath: string | null;
  /** Why the certificate setting holds no certificate (an unresolved Key Vault reference). */
  certificateProblem?: string | null;
}

export type CredentialFactory = (options: TokenCredentialOptions) => TokenCredential;

/**
 * Hands out one token per scope until it nears expiry; concurrent callers share one request.
 * @azure/identity caches too, but per credential object and out of sight: this makes the
 * per-tenant reuse explicit, testable and cheap (no cache lookup per query).
 */
export class CachedTokenCredential implements TokenCredential {
  private readonly tokens = new Map<string, AccessToken>();
  private readonly pending = new Map<string, Promise<AccessToken | null>>();

  constructor(
    private readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
    private readonly refreshMarginMs = TOKEN_REFRESH_MARGIN_MS,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const key = (Array.isArray(scopes) ? scopes : [scopes]).join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresOnTimestamp - this.refreshMarginMs > this.now()) return cached;
    let request = this.pending.get(key);
    if (!request) {
      request = this.inner.getToken(scopes, options).then(
        (token) => {
          this.pending.delete(key);
          if (token) this.tokens.set(key, token);
          return token;
        },
        (error: unknown) => {
          this.pending.delete(key);
          // A refused token must not be served from the cache afterwards (consent withdrawn).
          this.tokens.delete(key);
          throw error;
        },
      );
      this.pending.set(key, request);
    }
    return request;
  }
}

/** What a tenant's credential depends on; a change to any of it builds a new credential. */
function identityOf(tenant: Pick<Tenant, 'key' | 'entraTenantId' | 'graphBaseUrl' | 'credential'>): string {
  const ref = tenant.credential.kind === 'secret' ? `secret:${tenant.credential.setting}` : 'certificate';
  return [tenant.key, tenant.entraTenantId.toLowerCase(), tenant.graphBaseUrl, ref].join('\u0000');
}

export interface TenantCredentialsOptions {
  app: ProviderApp;
  /** Reads the app setting a secret reference names (process.env in the app). */
  secretSetting: (name: string) => string | undefined;
  create?: CredentialFactory;
  now?: () => number;
}

/** One cached credential per tenant (per process). */
export class TenantCredentials {
  private readonly credentials = new Map<string, TokenCredential>();
  private readonly create: CredentialFactory;
  private readonly now: () => number;

  constructor(private readonly options: TenantCredentialsOptions) {
    this.create = options.create ?? createTokenCredential;
    this.now = options.now ?? Date.now;
  }

  credentialFor(tenant: Pick<Tenant, 'key' | 'entraTenantId' | 'graphBaseUrl' | 'credential'>): TokenCredential {
    const id = identityOf(tenant);
    let credential = this.credentials.get(id);
    if (!credential) {
      credential = new CachedTokenCredential(this.create(this.optionsFor(tenant)), this.now);
      for (const existing of this.credentials.keys()) {
        if (existing.startsWith(`${tenant.key}\u0000`)) this.credentials.delete(existing);
      }
      this.credentials.set(id, credential);
    }
    return credential;
  }

  /** The @azure/identity options for a tenant; throws a configuration error naming what is missing. */
  optionsFor(tenant: Pick<Tenant, 'key' | 'entraTenantId' | 'graphBaseUrl' | 'credential'>): TokenCredentialOptions {
    const { app } = this.options;
    const authorityHost = resolveGraphEndpoint(tenant.graphBaseUrl).authorityHost;
    if (!app.clientId) {
      throw new HuntingConfigurationError(`tenant '${tenant.key}': PROVIDER_APP_CLIENT_ID (the provider's multi-tenant app registration) is not set`);
    }
    if (tenant.credential.kind === 'secret') {
      const secret = this.options.secretSetting(tenant.credential.setting);
      if (secret?.startsWith('@Microsoft.KeyVault(')) {
        throw new HuntingConfigurationError(`tenant '${tenant.key}': the Key Vault reference in ${tenant.credential.setting} did not resolve (missing secret, or no access for the app's identity)`);
      }
      if (!secret || secret.trim() === '') {
        throw new HuntingConfigurationError(
          `tenant '${tenant.key}': its client secret setting ${tenant.credential.setting} is not set (in Azure: an app setting holding a Key Vault reference)`,
        );
      }
      return { kind: 'client-secret', tenantId: tenant.entraTenantId, clientId: app.clientId, clientSecret: secret, authorityHost };
    }
    if (app.certificatePem) {
      return { kind: 'client-certificate-pem', tenantId: tenant.entraTenantId, clientId: app.clientId, certificate: app.certificatePem, authorityHost };
    }
    if (app.certificatePath) {
      return { kind: 'client-certificate', tenantId: tenant.entraTenantId, clientId: app.clientId, certificatePath: app.certificatePath, authorityHost };
    }
    throw new HuntingConfigurationError(
      `tenant '${tenant.key}': no certificate for the provider app: ${app.certificateProblem ?? 'PROVIDER_APP_CERTIFICATE (Key Vault reference to the certificate) is not set'}`,
    );
  }
}

/**
 * The page a customer's Global Administrator (or Privileged Role Administrator) opens to consent
 * to the provider's app in their tenant, granting the application permissions it was registered
 * with (ThreatHunting.Read.All). After consent Entra redirects to the app's first reply URL, or
 * to `redirectUri` when given (it must be one of the app's reply URLs).
 */
export function adminConsentUrl(options: { graphBaseUrl: string; entraTenantId: string; clientId: string; redirectUri?: string }): string {
  const authority = resolveGraphEndpoint(options.graphBaseUrl).authorityHost;
  const url = new URL(`${authority}/${encodeURIComponent(options.entraTenantId)}/adminconsent`);
  url.searchParams.set('client_id', options.clientId);
  if (options.redirectUri) url.searchParams.set('redirect_uri', options.redirectUri);
  return url.toString();
}

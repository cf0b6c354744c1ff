// App Service authentication (authsettingsV2) in front of the API app. The platform validates an
// Entra ID access token (API callers) or its own session cookie (browsers signed in through
// /.auth/login/aad) and passes the caller's claims in x-ms-client-principal; it removes any
// x-ms-client-principal* header a client sends itself, so the header can be trusted.
//
// Unauthenticated requests are let through (AllowAnonymous) so the app decides per route: the
// API answers 401 and the allowlist page redirects a browser to /.auth/login/aad with
// post_login_redirect_uri back to the page (ALLOWLIST_SIGN_IN_PATH; shared/allowlist/page/
// handlers.ts). Both still refuse without a principal (401) or the app role (403), as
// shared/allowlist/api.ts enforces for every route: nothing answers without a principal. The
// platform alone cannot do this split (one unauthenticatedClientAction for the whole app: Return401
// leaves the on-call engineer's browser at a 401, RedirectToLoginPage sends API clients a 302).
//
// Without a client id (createAuthApp false and no authClientId) there is no identity provider, so
// no request ever carries a principal and every route answers 401: the API is closed, never open.

param functionAppName string
@description('Client (application) id of the app registration; empty closes the API.')
param clientId string
@description('Accepted `aud` values: the client id, and the application ID URI.')
param allowedAudiences array = []

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

var entraProvider = {
  azureActiveDirectory: {
    enabled: true
    registration: {
      clientId: clientId
      // v2 issuer; the app registration asks for v2 access tokens (requestedAccessTokenVersion 2).
      openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    }
    validation: {
      allowedAudiences: allowedAudiences
    }
    login: {
      disableWWWAuthenticate: false
    }
  }
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: empty(clientId) ? {} : entraProvider
    login: {
      tokenStore: {
        enabled: false
      }
    }
    httpSettings: {
      requireHttps: true
      routes: {
        apiPrefix: '/.auth'
      }
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
  }
}

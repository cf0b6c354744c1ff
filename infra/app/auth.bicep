// App Service authentication (authsettingsV2) in front of the function app: every request needs
// a valid Entra ID access token for the allowlist app registration, and a request without one is
// answered 401 (no login redirect: this is an API). The platform then passes the caller's claims
// to the app in x-ms-client-principal, where shared/allowlist/api.ts checks the Allowlist.Read /
// Allowlist.Write app roles; the HTTP functions additionally require a function key
// (authLevel 'function'). Timer and queue triggers are not HTTP and are unaffected.
//
// Without a client id (createAuthApp false and no authClientId) authentication stays required
// with no identity provider, so every request is refused: the API is closed, never open.

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
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
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

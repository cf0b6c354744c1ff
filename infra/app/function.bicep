// One Flex Consumption plan (FC1) and its function app: Linux, Node.js 22, deployment package in
// a blob container of the app's own host storage account read with the app's user-assigned
// identity, and the app settings. main.bicep uses it twice: the hunting app (hunt, deliver) and the
// allowlist API app, each with its own identity, host storage and package (azure.yaml services).
// Basic (user name and password) publishing credentials are off for SCM and FTP: deployments
// authenticate with Entra ID. With a subnet, outbound traffic goes through the virtual network
// (VNet integration), where the storage and Key Vault private endpoints are.
//
// App settings are exactly (test/unit/config/settingsConsistency.test.ts keeps them in step):
//   - every setting of shared/config/reference.ts whose `azure` is 'bicep' or 'secret' (the
//     secret ones as Key Vault references), and
//   - the platform settings of identity-based host storage and Entra-authenticated Application
//     Insights.
// Flex Consumption takes the runtime and its version from functionAppConfig.runtime and sets the
// Functions version itself: FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION,
// WEBSITE_RUN_FROM_PACKAGE and WEBSITE_NODE_DEFAULT_VERSION are not used on this plan.

param name string
param planName string
param location string = resourceGroup().location
param tags object = {}
@description('azd deploys the code to the site carrying this tag (azure.yaml service name).')
param serviceName string = 'functions'

param identityId string
param identityClientId string
@description('The app\'s own account: host storage (AzureWebJobsStorage) and the deployment container.')
param hostStorageAccountName string
@description('The data account: the app\'s tables and queues.')
param dataStorageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param keyVaultName string
param notifyChannelsSecretName string

param runtimeVersion string = '22'
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 40
@description('Subnet (delegated to Microsoft.App/environments) for VNet integration; empty: none.')
param virtualNetworkSubnetId string = ''
@description('ALLOWLIST_BASE_URL: the allowlist API app\'s URL; empty: this app\'s own URL (the API app itself).')
param allowlistBaseUrl string = ''

param tenantName string
param huntRules string
param huntSchedule string
param graphBaseUrl string
param notificationQueue string
param huntJobsQueue string
@description('PROVIDER_APP_CLIENT_ID: the multi-tenant app registration customer tenants consent to; empty: no registry tenants.')
param providerAppClientId string = ''
@description('Key Vault certificate (and its secret) holding the provider app\'s certificate; the reference resolves once it exists.')
param providerCertificateName string = 'provider-app'

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: dataStorageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Key Vault references resolve with the user-assigned identity, not a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: runtimeVersion
      }
    }
  }
}

// Deployments and the Kudu/SCM site authenticate with Entra ID only: no publishing user name and
// password that could be phished or leaked from a publish profile.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Service endpoints without the trailing slash the account reports.
var blobEndpoint = hostStorage.properties.primaryEndpoints.blob
var queueEndpoint = dataStorage.properties.primaryEndpoints.queue
var tableEndpoint = dataStorage.properties.primaryEndpoints.table

// A child resource (not siteConfig.appSettings) so that settings can use the site's own host name.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // app-settings:begin
    // Platform: identity-based host storage (blob only: keys, timer monitor, locks).
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: endsWith(blobEndpoint, '/') ? substring(blobEndpoint, 0, length(blobEndpoint) - 1) : blobEndpoint
    // Platform: Application Insights with Entra authentication (local auth is disabled).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

    // codesign-hunt: shared/config/reference.ts, azure: 'bicep'
    TENANT_ID: tenantName
    HUNT_RULES: huntRules
    HUNT_SCHEDULE: huntSchedule
    GRAPH_BASE_URL: graphBaseUrl
    GRAPH_AUTH: 'managed-identity'
    GRAPH_CLIENT_ID: identityClientId
    Storage__tableServiceUri: endsWith(tableEndpoint, '/') ? substring(tableEndpoint, 0, length(tableEndpoint) - 1) : tableEndpoint
    Storage__queueServiceUri: endsWith(queueEndpoint, '/') ? substring(queueEndpoint, 0, length(queueEndpoint) - 1) : queueEndpoint
    Storage__credential: 'managedidentity'
    Storage__clientId: identityClientId
    ALLOWLIST_BASE_URL: empty(allowlistBaseUrl) ? 'https://${site.properties.defaultHostName}' : allowlistBaseUrl
    // App Service authentication's login endpoint (infra/app/auth.bicep): the page sends browsers there.
    ALLOWLIST_SIGN_IN_PATH: '/.auth/login/aad'
    NOTIFICATION_QUEUE: notificationQueue
    HUNT_JOBS_QUEUE: huntJobsQueue
    PROVIDER_APP_CLIENT_ID: providerAppClientId

    // codesign-hunt: shared/config/reference.ts, azure: 'secret' (Key Vault references; a
    // versionless SecretUri follows the latest version of the secret)
    NOTIFY_CHANNELS: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${notifyChannelsSecretName})'
    // A Key Vault certificate is readable as a secret of the same name: PEM (private key and
    // certificate) when created with content type application/x-pem-file (docs/tenants.md).
    PROVIDER_APP_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${providerCertificateName})'
    // app-settings:end
  }
}

output name string = site.name
output id string = site.id
output url string = 'https://${site.properties.defaultHostName}'

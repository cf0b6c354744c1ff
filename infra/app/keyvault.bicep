// Key Vault in RBAC mode, with purge protection, for the app's secrets: notify-channels, the NOTIFY_CHANNELS
// JSON (Teams Workflow URLs carry their signature in the query string; webhook channels carry
// whsec_ signing secrets); with many tenants also the certificate provider-app of the provider's
// multi-tenant app registration (created by the operator: Key Vault certificates are data plane).
// The function apps read them through Key Vault references with their user-assigned identities
// (keyVaultReferenceIdentity, role Key Vault Secrets User in rbac.bicep).
//
// The secret is written here only when notifyChannelsJson is given; otherwise the operator sets it
// (az keyvault secret set, role Key Vault Secrets Officer), and re-provisioning leaves it alone.

param name string
param location string = resourceGroup().location
param tags object = {}

@secure()
param notifyChannelsJson string = ''

@description('No public network access and default-deny network rules; reached through a private endpoint.')
param privateNetworking bool = false

var notifyChannelsSecretName = 'notify-channels'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // A deleted vault (and the webhook secrets in it) stays recoverable for the retention period
    // and nobody can purge it early, an attacker with the deployer's rights included. It cannot be
    // turned off again, and the vault name stays taken until the retention ends (azd down --purge
    // then leaves it soft-deleted).
    enablePurgeProtection: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: privateNetworking ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource notifyChannels 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(notifyChannelsJson)) {
  parent: vault
  name: notifyChannelsSecretName
  properties: {
    value: notifyChannelsJson
    contentType: 'application/json'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
output notifyChannelsSecretName string = notifyChannelsSecretName
// Many tenants: the operator creates the provider app's certificate under this name (data plane,
// az keyvault certificate create; docs/tenants.md); the apps read it through a Key Vault reference.
output providerCertificateName string = 'provider-app'

// Key Vault in RBAC mode for the one secret the app has: notify-channels, the NOTIFY_CHANNELS
// JSON (Teams Workflow URLs carry their signature in the query string; webhook channels carry
// whsec_ signing secrets). The function app reads it through a Key Vault reference with its
// user-assigned identity (keyVaultReferenceIdentity, role Key Vault Secrets User in rbac.bicep).
//
// The secret is written here only when notifyChannelsJson is given; otherwise the operator sets it
// (az keyvault secret set, role Key Vault Secrets Officer), and re-provisioning leaves it alone.

param name string
param location string = resourceGroup().location
param tags object = {}

@secure()
param notifyChannelsJson string = ''

@description('Purge protection cannot be turned off again once on; with it, a deleted vault name stays taken for the retention period.')
param enablePurgeProtection bool = false

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
    // The API accepts only true or absent for purge protection.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
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

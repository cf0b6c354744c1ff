// A function app's own storage account: the Functions host storage (AzureWebJobsStorage: keys,
// timer schedule monitor, singleton locks) and the Flex Consumption deployment package container.
// One account per function app, so the identity that runs one app holds no role on the other
// app's package or keys (the API's identity cannot replace the hunting app's code, which runs with
// the Microsoft Graph permission). Shared keys are disabled. With privateNetworking the account
// takes no public traffic (blob private endpoint, default-deny network rules).

param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentContainerName string
@description('No public network access and default-deny network rules; reached through a private endpoint.')
param privateNetworking bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: privateNetworking ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

var blob = storage.properties.primaryEndpoints.blob

output name string = storage.name
output id string = storage.id
output blobEndpoint string = endsWith(blob, '/') ? substring(blob, 0, length(blob) - 1) : blob

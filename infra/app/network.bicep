// Private networking (privateNetworking=true in main.bicep): one virtual network with a subnet per
// function app for outbound VNet integration (Flex Consumption: one app per plan, one plan per
// subnet, delegated to Microsoft.App/environments) and a subnet for private endpoints, plus the
// private DNS zones that make the storage and Key Vault host names resolve to those endpoints
// from inside the network. The zone names follow the cloud (environment().suffixes).

param name string
param location string = resourceGroup().location
param tags object = {}
@description('Address space of the virtual network; the three /24 subnets are carved from its start.')
param addressPrefix string = '10.90.0.0/16'
@description('Private DNS zone of Key Vault in this cloud (privatelink.vaultcore.usgovcloudapi.net in Azure Government, privatelink.vaultcore.azure.cn in Azure China).')
param keyVaultPrivateDnsZoneName string = 'privatelink.vaultcore.azure.net'

var appDelegation = [
  {
    name: 'flex-consumption'
    properties: {
      serviceName: 'Microsoft.App/environments'
    }
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-hunting'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: appDelegation
        }
      }
      {
        name: 'snet-api'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          delegations: appDelegation
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 2)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

var storageSuffix = environment().suffixes.storage
var zoneNames = {
  blob: 'privatelink.blob.${storageSuffix}'
  queue: 'privatelink.queue.${storageSuffix}'
  table: 'privatelink.table.${storageSuffix}'
  vault: keyVaultPrivateDnsZoneName
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in items(zoneNames): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, i) in items(zoneNames): {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output id string = vnet.id
output huntingSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-hunting')
output apiSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-api')
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-private-endpoints')
output blobZoneId string = zones[0].id
output queueZoneId string = zones[1].id
output tableZoneId string = zones[2].id
output vaultZoneId string = zones[3].id

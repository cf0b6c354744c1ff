// One private endpoint: a network interface in the private-endpoint subnet for one sub-resource
// (groupId: blob, queue, table, vault) of a storage account or Key Vault, registered in the
// matching private DNS zone so the resource's usual host name resolves to it inside the network.

param name string
param location string = resourceGroup().location
param tags object = {}
param subnetId string
param targetId string
@allowed([
  'blob'
  'queue'
  'table'
  'vault'
])
param groupId string
param privateDnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }

  resource dns 'privateDnsZoneGroups' = {
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: groupId
          properties: {
            privateDnsZoneId: privateDnsZoneId
          }
        }
      ]
    }
  }
}

output id string = endpoint.id

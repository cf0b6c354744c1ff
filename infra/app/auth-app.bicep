// The Entra ID app registration that App Service authentication validates access tokens for on
// /api/allowlist, created with the Microsoft Graph Bicep extension (infra/bicepconfig.json pins
// microsoftGraphV1). Graph resources are deployed with the deploying user's own Entra rights:
// creating an application needs Application Administrator, Cloud Application Administrator or
// Application Developer (or "users can register applications"); assigning its app roles needs
// ownership of the service principal or Cloud Application Administrator.
//
// App roles (checked by shared/allowlist/api.ts from the `roles` claim in x-ms-client-principal):
//   Allowlist.Read   list entries and their history
//   Allowlist.Write  create, replace and delete entries
// Both are assignable to users/groups (people) and to applications (automation with client
// credentials). appRoleAssignmentRequired: only principals with one of the roles get a token.
extension microsoftGraphV1

@description('Immutable unique name of the application in the tenant (idempotency key of the Graph extension).')
param uniqueName string
param displayName string
@description('Web redirect URIs for browser sign-in to the allowlist page: <API app URL>/.auth/login/aad/callback.')
param webRedirectUris array = []
@description('Object ids assigned Allowlist.Read.')
param readerIds array = []
@description('Object ids assigned Allowlist.Read and Allowlist.Write.')
param writerIds array = []

// Stable ids: the same environment keeps the same role and scope ids across deployments.
var readRoleId = guid(uniqueName, 'Allowlist.Read')
var writeRoleId = guid(uniqueName, 'Allowlist.Write')
var permanentRoleId = guid(uniqueName, 'Allowlist.Permanent')
var scopeId = guid(uniqueName, 'user_impersonation')
var identifierUri = 'api://${tenant().tenantId}/${uniqueName}'

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [
    identifierUri
  ]
  // Browser sign-in to the allowlist page through App Service authentication (/.auth/login/aad):
  // the platform's callback is the redirect URI, and without a client secret it signs people in
  // with an ID token (form_post), whose `roles` claim carries the user's Allowlist app roles.
  web: {
    redirectUris: webRedirectUris
    implicitGrantSettings: {
      enableIdTokenIssuance: true
      enableAccessTokenIssuance: false
    }
  }
  api: {
    // v2 access tokens: issuer https://login.microsoftonline.com/<tenant>/v2.0 (auth.bicep), aud = appId.
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [
      {
        id: scopeId
        value: 'user_impersonation'
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Access the codesign-hunt allowlist API'
        adminConsentDescription: 'Lets the client call the codesign-hunt allowlist API as the signed-in user; the user\'s Allowlist app roles still decide what is allowed.'
        userConsentDisplayName: 'Access the codesign-hunt allowlist API'
        userConsentDescription: 'Lets the client call the codesign-hunt allowlist API on your behalf.'
      }
    ]
  }
  appRoles: [
    {
      id: readRoleId
      value: 'Allowlist.Read'
      displayName: 'Allowlist reader'
      description: 'Read codesign-hunt allowlist entries and their audit history.'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
    {
      id: writeRoleId
      value: 'Allowlist.Write'
      displayName: 'Allowlist writer'
      description: 'Create, replace and delete codesign-hunt allowlist entries (suppressing detections).'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
    {
      // With Allowlist.Write: entries that never expire (the API refuses them to Write alone).
      id: permanentRoleId
      value: 'Allowlist.Permanent'
      displayName: 'Allowlist permanent writer'
      description: 'Together with Allowlist.Write: create codesign-hunt allowlist entries that never expire.'
      allowedMemberTypes: [
        'User'
      ]
      isEnabled: true
    }
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
  appRoleAssignmentRequired: true
}

var readerAssignments = map(readerIds, id => { principalId: id, appRoleId: readRoleId })
var writerReadAssignments = map(writerIds, id => { principalId: id, appRoleId: readRoleId })
var writerWriteAssignments = map(writerIds, id => { principalId: id, appRoleId: writeRoleId })
// union() drops duplicates, so a principal listed as reader and writer is assigned Read once.
var assignments = union(readerAssignments, writerReadAssignments, writerWriteAssignments)

resource roleAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for assignment in assignments: {
    resourceId: servicePrincipal.id
    principalId: assignment.principalId
    appRoleId: assignment.appRoleId
  }
]

output appId string = application.appId
output identifierUri string = identifierUri
output servicePrincipalId string = servicePrincipal.id

#!/usr/bin/env bash
# Grants the Microsoft Graph application permission ThreatHunting.Read.All (needed by
# POST /security/runHuntingQuery) to the function app's user-assigned managed identity: an app
# role assignment on the Microsoft Graph service principal, made with `az rest` against Graph.
#
# This is the alternative to infra/app/graph-permission.bicep (grantGraphPermission=true), for
# when the deploying account may not grant it or outside the global cloud. Run it as an account
# with the Entra role Privileged Role Administrator (or Global Administrator): granting Microsoft
# Graph application permissions needs it; Application Administrator and Cloud Application
# Administrator may grant app roles of other APIs but not of Microsoft Graph.
#
# The app role id is resolved at run time by value from the Graph service principal's appRoles
# (in the global cloud it is dd98c7f5-2d42-42d3-a0e4-633161547251), and the Graph endpoint comes
# from the active az cloud (az cloud set --name AzureUSGovernment, ...). Idempotent: an existing
# assignment is reported and left alone.
#
# Usage:
#   scripts/grant-graph-permission.sh --principal-id <object id of the identity>
#   scripts/grant-graph-permission.sh --identity <name> --resource-group <group>
#   scripts/grant-graph-permission.sh            # AZURE_IDENTITY_PRINCIPAL_ID from `azd env get-values`
# Options:
#   --permission <value>   default ThreatHunting.Read.All
#   --dry-run              resolve and print, change nothing
set -euo pipefail

GRAPH_APP_ID='00000003-0000-0000-c000-000000000000'
permission='ThreatHunting.Read.All'
principal_id=''
identity=''
resource_group=''
dry_run=false

die() {
  echo "grant-graph-permission: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --principal-id) principal_id="${2:-}"; shift 2 ;;
    --identity) identity="${2:-}"; shift 2 ;;
    --resource-group) resource_group="${2:-}"; shift 2 ;;
    --permission) permission="${2:-}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is required"
az account show --output none 2>/dev/null || die "not logged in: run az login (as a Privileged Role Administrator)"

if [ -z "$principal_id" ] && [ -n "$identity" ]; then
  [ -n "$resource_group" ] || die "--identity needs --resource-group"
  principal_id="$(az identity show --name "$identity" --resource-group "$resource_group" --query principalId --output tsv)"
fi
if [ -z "$principal_id" ] && command -v azd >/dev/null 2>&1; then
  principal_id="$(azd env get-values 2>/dev/null | sed -n 's/^AZURE_IDENTITY_PRINCIPAL_ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p')"
fi
[ -n "$principal_id" ] || die "no principal: pass --principal-id, or --identity with --resource-group, or run inside the azd project"
case "$principal_id" in
  *[!0-9a-fA-F-]* | '') die "principal id '$principal_id' is not an object id" ;;
esac

# Microsoft Graph endpoint of the active cloud, without the trailing slash.
graph="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
graph="${graph%/}"
[ -n "$graph" ] || die "could not read the Microsoft Graph endpoint of the active cloud"

graph_sp_id="$(az rest --method GET --resource "$graph" \
  --url "$graph/v1.0/servicePrincipals(appId='$GRAPH_APP_ID')?\$select=id" \
  --query id --output tsv)"
[ -n "$graph_sp_id" ] || die "Microsoft Graph service principal not found in this tenant"

app_role_id="$(az rest --method GET --resource "$graph" \
  --url "$graph/v1.0/servicePrincipals/$graph_sp_id?\$select=appRoles" \
  --query "appRoles[?value=='$permission' && contains(allowedMemberTypes, 'Application')].id | [0]" --output tsv)"
[ -n "$app_role_id" ] || die "Microsoft Graph has no application permission named $permission"

principal_name="$(az rest --method GET --resource "$graph" \
  --url "$graph/v1.0/servicePrincipals/$principal_id?\$select=displayName" \
  --query displayName --output tsv)" || die "service principal $principal_id not found (is it the identity's principalId, not its clientId?)"

echo "Graph:      $graph (service principal $graph_sp_id)"
echo "Permission: $permission (app role $app_role_id)"
echo "Principal:  $principal_name ($principal_id)"

existing="$(az rest --method GET --resource "$graph" \
  --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
  --query "length(value[?appRoleId=='$app_role_id' && resourceId=='$graph_sp_id'])" --output tsv)"
if [ "${existing:-0}" != "0" ]; then
  echo "Already granted: nothing to do."
  exit 0
fi

if [ "$dry_run" = true ]; then
  echo "Dry run: would assign $permission to $principal_name."
  exit 0
fi

az rest --method POST --resource "$graph" \
  --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
  --headers 'Content-Type=application/json' \
  --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp_id\",\"appRoleId\":\"$app_role_id\"}" \
  --output none
echo "Granted $permission to $principal_name. Tokens issued from now on carry it; the app's cached token is"
echo "renewed within about an hour (restart the function app to pick it up at once)."

/**
 * HTTP registrations of the allowlist API (/api/allowlist…). Wiring only: settings → deps →
 * handlers in shared/allowlist/api.ts. Deps are built on first request so that loading the app
 * never fails on missing settings; a misconfiguration surfaces as a logged 500 on that request.
 */
import { app, type InvocationContext } from '@azure/functions';
import type { AllowlistApiDeps } from '../shared/allowlist/api';
import { handleAllowlistCollection, handleAllowlistHistory, handleAllowlistItem } from '../shared/allowlist/api';
import { createAllowlistRuntime } from '../shared/app/allowlistRuntime';
import { contextLogger } from '../shared/app/logger';
import { loadSettings } from '../shared/config/settings';

let deps: AllowlistApiDeps | undefined;

function allowlistDeps(context: InvocationContext): AllowlistApiDeps {
  deps ??= createAllowlistRuntime(loadSettings(process.env), contextLogger(context));
  return deps;
}

app.http('allowlistCollection', {
  route: 'allowlist',
  methods: ['GET', 'POST'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistCollection(request, context, allowlistDeps(context)),
});

app.http('allowlistItem', {
  route: 'allowlist/{id}',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistItem(request, context, allowlistDeps(context)),
});

app.http('allowlistHistory', {
  route: 'allowlist/{id}/history',
  methods: ['GET'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistHistory(request, context, allowlistDeps(context)),
});

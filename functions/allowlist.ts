/**
 * HTTP registrations of the allowlist API (/api/allowlist…). Wiring only: settings → deps →
 * handlers in shared/allowlist/api.ts. Deps are built on first request so that loading the app
 * never fails on missing settings; a misconfiguration surfaces as a logged 500 on that request.
 */
import { app, type InvocationContext } from '@azure/functions';
import type { AllowlistApiDeps } from '../shared/allowlist/api';
import { handleAllowlistCollection, handleAllowlistHistory, handleAllowlistItem } from '../shared/allowlist/api';
import { contextLogger } from '../shared/app/logger';

let deps: Promise<AllowlistApiDeps> | undefined;

/** Built on the first request (not at indexing): settings, identity and storage clients. */
function allowlistDeps(context: InvocationContext): Promise<AllowlistApiDeps> {
  deps ??= Promise.all([import('../shared/app/allowlistRuntime'), import('../shared/config/settings')]).then(
    ([{ createAllowlistRuntime }, { loadSettings }]) => createAllowlistRuntime(loadSettings(process.env), contextLogger(context)),
  );
  deps.catch(() => {
    deps = undefined; // a settings error is retried on the next request
  });
  return deps;
}

app.http('allowlistCollection', {
  route: 'allowlist',
  methods: ['GET', 'POST'],
  authLevel: 'function',
  handler: async (request, context) => handleAllowlistCollection(request, context, await allowlistDeps(context)),
});

app.http('allowlistItem', {
  route: 'allowlist/{id}',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  handler: async (request, context) => handleAllowlistItem(request, context, await allowlistDeps(context)),
});

app.http('allowlistHistory', {
  route: 'allowlist/{id}/history',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request, context) => handleAllowlistHistory(request, context, await allowlistDeps(context)),
});

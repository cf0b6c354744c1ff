/**
 * Every HTTP route of the allowlist, API and page, in one table: functions/allowlist.ts registers
 * them with the Functions host, and the local server (the demo's `--serve`, the browser tests)
 * routes to the same handlers, so what runs locally is what runs in Azure. host.json sets an empty
 * route prefix, so the page is at /allowlist and the API at /api/allowlist.
 */
import type { HttpMethod } from '@azure/functions';
import type { Handler } from './api';
import { handleAllowlistCollection, handleAllowlistHistory, handleAllowlistItem, handleAllowlistPreview, handleAllowlistSuppressed } from './api';
import { handlePageAsset, handlePageEntry, handlePageList } from './page/handlers';

export interface AllowlistRoute {
  name: string;
  route: string;
  methods: HttpMethod[];
  handler: Handler;
}

export const ALLOWLIST_ROUTES: readonly AllowlistRoute[] = [
  { name: 'allowlistCollection', route: 'api/allowlist', methods: ['GET', 'POST'], handler: handleAllowlistCollection },
  { name: 'allowlistItem', route: 'api/allowlist/{id}', methods: ['GET', 'PUT', 'DELETE'], handler: handleAllowlistItem },
  { name: 'allowlistHistory', route: 'api/allowlist/{id}/history', methods: ['GET'], handler: handleAllowlistHistory },
  { name: 'allowlistSuppressed', route: 'api/allowlist/{id}/suppressed', methods: ['GET'], handler: handleAllowlistSuppressed },
  { name: 'allowlistPreview', route: 'api/allowlist-preview', methods: ['POST'], handler: handleAllowlistPreview },
  { name: 'allowlistPage', route: 'allowlist', methods: ['GET'], handler: handlePageList },
  { name: 'allowlistPageAsset', route: 'allowlist/assets/{name}', methods: ['GET'], handler: handlePageAsset },
  { name: 'allowlistPageEntry', route: 'allowlist/{id}', methods: ['GET'], handler: handlePageEntry },
];

/** The route and its parameters for a path, or null (literal segments; `{name}` is one segment). */
export function matchRoute(path: string, method: string): { route: AllowlistRoute; params: Record<string, string> } | { allowed: string[] } | null {
  const segments = path.replace(/^\/+|\/+$/g, '').split('/');
  for (const route of ALLOWLIST_ROUTES) {
    const parts = route.route.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    parts.forEach((part, i) => {
      const segment = segments[i] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name) {
        try {
          params[name] = decodeURIComponent(segment);
        } catch {
          ok = false;
        }
      } else if (part !== segment) ok = false;
    });
    if (!ok) continue;
    if (!route.methods.includes(method.toUpperCase() as HttpMethod)) return { allowed: route.methods };
    return { route, params };
  }
  return null;
}

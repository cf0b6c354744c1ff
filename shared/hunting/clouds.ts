/**
 * Microsoft Graph national cloud endpoints and the rule that turns a configured base URL into
 * everything the client needs: the normalised origin, the token scope, the Entra authority host,
 * and whether the URL is loopback (the only place authentication may be switched off).
 */
import { HuntingConfigurationError } from './errors';

export type GraphCloudName = 'global' | 'usgov' | 'dod' | 'china';

export interface GraphCloud {
  name: GraphCloudName;
  graphBaseUrl: string;
  authorityHost: string;
}

// runHuntingQuery is documented for global, US Gov L4 and L5 (DoD), not for 21Vianet China;
// China is listed so a misconfiguration there fails at Graph with a clear answer rather than here.
export const GRAPH_CLOUDS: Readonly<Record<GraphCloudName, GraphCloud>> = {
  global: { name: 'global', graphBaseUrl: 'https://graph.microsoft.com', authorityHost: 'https://login.microsoftonline.com' },
  usgov: { name: 'usgov', graphBaseUrl: 'https://graph.microsoft.us', authorityHost: 'https://login.microsoftonline.us' },
  dod: { name: 'dod', graphBaseUrl: 'https://dod-graph.microsoft.us', authorityHost: 'https://login.microsoftonline.us' },
  china: {
    name: 'china',
    graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
  },
};

export const DEFAULT_GRAPH_BASE_URL = GRAPH_CLOUDS.global.graphBaseUrl;

export interface ResolvedGraphEndpoint {
  /** The origin, without a trailing slash: `https://graph.microsoft.us`. */
  baseUrl: string;
  /** The app-only scope for the token: `<baseUrl>/.default`. */
  scope: string;
  /** Entra authority for the credential; the global one for loopback and unknown hosts. */
  authorityHost: string;
  isLoopback: boolean;
  /** The national cloud the host belongs to; undefined for loopback and other hosts. */
  cloud: GraphCloudName | undefined;
}

function isLoopbackIPv4(host: string): boolean {
  const octets = host.split('.');
  if (octets.length !== 4) return false;
  if (!octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)) return false;
  return octets[0] === '127';
}

/** True for 127.0.0.0/8, `localhost` and `[::1]` (the only hosts a test or demo server may use). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host === '[::1]' || host === '::1' || isLoopbackIPv4(host);
}

function cloudFor(origin: string): GraphCloud | undefined {
  return Object.values(GRAPH_CLOUDS).find((cloud) => cloud.graphBaseUrl === origin);
}

/**
 * Validates a Graph base URL and resolves its cloud. Accepts only an origin (scheme, host, port):
 * a path such as `/v1.0` would be joined twice by the Graph client, so it is refused here. Plain
 * http is refused off loopback, because the bearer token would travel in clear text.
 */
export function resolveGraphEndpoint(baseUrl: string): ResolvedGraphEndpoint {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch (error) {
    throw new HuntingConfigurationError(`Graph base URL "${baseUrl}" is not a URL.`, { cause: error });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HuntingConfigurationError(`Graph base URL "${baseUrl}" must use https.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new HuntingConfigurationError(`Graph base URL "${baseUrl}" must not contain credentials.`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new HuntingConfigurationError(
      `Graph base URL "${baseUrl}" must be an origin such as https://graph.microsoft.com, without a path ` +
        '(the API version is added by the client), query or fragment.',
    );
  }
  const isLoopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !isLoopback) {
    throw new HuntingConfigurationError(
      `Graph base URL "${baseUrl}" uses plain http; only loopback addresses (127.0.0.0/8, localhost, [::1]) may.`,
    );
  }
  const origin = url.origin;
  const cloud = cloudFor(origin);
  return {
    baseUrl: origin,
    scope: `${origin}/.default`,
    authorityHost: cloud?.authorityHost ?? GRAPH_CLOUDS.global.authorityHost,
    isLoopback,
    cloud: cloud?.name,
  };
}

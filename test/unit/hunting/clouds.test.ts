/** National cloud resolution and the loopback rule that gates authentication 'none'. */
import { GRAPH_CLOUDS, isLoopbackHost, resolveGraphEndpoint } from '../../../shared/hunting/clouds';
import { HuntingConfigurationError } from '../../../shared/hunting/errors';

describe('resolveGraphEndpoint', () => {
  test.each([
    ['https://graph.microsoft.com', 'https://graph.microsoft.com', 'https://login.microsoftonline.com', 'global'],
    ['https://graph.microsoft.us/', 'https://graph.microsoft.us', 'https://login.microsoftonline.us', 'usgov'],
    ['https://dod-graph.microsoft.us', 'https://dod-graph.microsoft.us', 'https://login.microsoftonline.us', 'dod'],
    ['https://microsoftgraph.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn', 'https://login.chinacloudapi.cn', 'china'],
    ['HTTPS://GRAPH.Microsoft.COM:443/', 'https://graph.microsoft.com', 'https://login.microsoftonline.com', 'global'],
  ])('%s', (input, baseUrl, authorityHost, cloud) => {
    expect(resolveGraphEndpoint(input)).toEqual({
      baseUrl,
      scope: `${baseUrl}/.default`,
      authorityHost,
      isLoopback: false,
      cloud,
    });
  });

  test('every listed cloud resolves to itself', () => {
    for (const cloud of Object.values(GRAPH_CLOUDS)) {
      const endpoint = resolveGraphEndpoint(cloud.graphBaseUrl);
      expect(endpoint.cloud).toBe(cloud.name);
      expect(endpoint.authorityHost).toBe(cloud.authorityHost);
    }
  });

  test.each(['http://127.0.0.1:8080', 'http://127.5.6.7', 'https://localhost:9443', 'http://localhost', 'http://[::1]:3000'])(
    'loopback %s',
    (input) => {
      const endpoint = resolveGraphEndpoint(input);
      expect(endpoint.isLoopback).toBe(true);
      expect(endpoint.cloud).toBeUndefined();
      expect(endpoint.authorityHost).toBe('https://login.microsoftonline.com');
      expect(endpoint.scope).toBe(`${endpoint.baseUrl}/.default`);
    },
  );

  test('an unknown https host is allowed, with the global authority', () => {
    expect(resolveGraphEndpoint('https://graph.example.test')).toMatchObject({
      baseUrl: 'https://graph.example.test',
      isLoopback: false,
      cloud: undefined,
      authorityHost: 'https://login.microsoftonline.com',
    });
  });

  test.each([
    ['not a url', /not a URL/],
    ['ftp://graph.microsoft.com', /https/],
    ['http://graph.microsoft.com', /plain http/],
    ['http://128.0.0.1', /plain http/],
    ['https://graph.microsoft.com/v1.0', /origin/],
    ['https://graph.microsoft.com/?x=1', /origin/],
    ['https://user:pw@graph.microsoft.com', /credentials/],
  ])('refuses %s', (input, message) => {
    expect(() => resolveGraphEndpoint(input)).toThrow(HuntingConfigurationError);
    expect(() => resolveGraphEndpoint(input)).toThrow(message);
  });
});

describe('isLoopbackHost', () => {
  test.each(['127.0.0.1', '127.255.255.254', 'localhost', 'LOCALHOST', 'localhost.', '[::1]', '::1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  test.each(['128.0.0.1', '10.0.0.1', '127.0.0', '127.0.0.256', 'localhost.example.com', 'example.localhost.com', '[::2]', ''])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

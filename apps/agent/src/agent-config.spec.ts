import { ConfigError, loadAgentConfig, nodeNameFromHostname } from './agent-config';

const file = (obj: unknown) => JSON.stringify(obj);
const minimal = { control_plane_url: 'http://198.18.0.1:8080/' };

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAgentConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadAgentConfig(file(minimal), {}, 'Web-01.example.com')).toEqual({
      controlPlaneUrls: ['http://198.18.0.1:8080'],
      controlPlaneCa: null,
      tenantId: null,
      authToken: null,
      interfaceName: 'mg0',
      heartbeatInterval: 30,
      reconcileInterval: 5,
      nodeName: 'web-01',
      endpoint: null,
      listenPort: 51820,
      tags: [],
      advertiseRoutes: [],
      exitNode: null,
      stateDir: '/var/lib/meshgate',
      logLevel: 'info',
      keyRotationMargin: 7 * 24 * 3600,
      metricsPort: null,
    });
  });

  it('reads key_rotation_margin in seconds and refuses a negative one', () => {
    expect(loadAgentConfig(file({ ...minimal, key_rotation_margin: 3600 }), {}, 'host').keyRotationMargin).toBe(3600);
    expect(() => loadAgentConfig(file({ ...minimal, key_rotation_margin: -1 }), {}, 'host')).toThrow(/key_rotation_margin/);
  });

  it('lets MESHGATE_* variables override file keys, parsing numbers and comma lists', () => {
    const config = loadAgentConfig(
      file({ ...minimal, listen_port: 1000, tags: ['a'] }),
      { MESHGATE_LISTEN_PORT: '51821', MESHGATE_TAGS: 'tag:web, db', MESHGATE_HEARTBEAT_INTERVAL: '0.5', PATH: '/bin' },
      'host',
    );
    // Tailscale's tag syntax; a bare name is read as the tag it names.
    expect(config).toMatchObject({ listenPort: 51821, tags: ['tag:web', 'tag:db'], heartbeatInterval: 0.5 });
  });

  it('reads the routes a subnet router advertises and the exit node to use', () => {
    const config = loadAgentConfig(file({ ...minimal, advertise_routes: ['10.77.0.0/24'], exit_node: 'gw-1' }), { MESHGATE_ADVERTISE_ROUTES: '10.1.0.0/16, 10.2.0.0/16' }, 'h');
    expect(config).toMatchObject({ advertiseRoutes: ['10.1.0.0/16', '10.2.0.0/16'], exitNode: 'gw-1' });
  });

  it('works from the environment alone', () => {
    expect(loadAgentConfig(null, { MESHGATE_CONTROL_PLANE_URL: 'https://cp.example' }, 'h').controlPlaneUrls).toEqual(['https://cp.example']);
  });

  describe('control-plane URLs', () => {
    const urlsOf = (content: unknown, env: NodeJS.ProcessEnv = {}) => loadAgentConfig(content === null ? null : file(content), env, 'h').controlPlaneUrls;

    it('takes a list of URLs, in order, from the file or comma-separated from the environment', () => {
      expect(urlsOf({ control_plane_urls: ['https://cp-1.example/', 'https://cp-2.example:8443'] })).toEqual(['https://cp-1.example', 'https://cp-2.example:8443']);
      expect(urlsOf(null, { MESHGATE_CONTROL_PLANE_URLS: 'http://10.0.0.1:8080, http://10.0.0.2:8080,' })).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    });

    it('joins both keys, the single URL first, without duplicates', () => {
      expect(urlsOf({ control_plane_url: 'https://b.example', control_plane_urls: ['https://a.example', 'https://b.example/', 'https://a.example'] }))
        .toEqual(['https://b.example', 'https://a.example']);
      expect(urlsOf(minimal, { MESHGATE_CONTROL_PLANE_URLS: 'http://198.18.0.2:8080' })).toEqual(['http://198.18.0.1:8080', 'http://198.18.0.2:8080']);
    });

    it('lets the environment replace the file list', () => {
      expect(urlsOf({ control_plane_urls: ['https://a.example'] }, { MESHGATE_CONTROL_PLANE_URLS: 'https://b.example' })).toEqual(['https://b.example']);
    });

    it.each([
      [{ control_plane_urls: ['https://ok.example', 'ftp://bad'] }, 'control_plane_urls[1]'],
      [{ control_plane_urls: ['https://ok.example', 42] }, 'control_plane_urls[1]'],
      [{ control_plane_urls: [''] }, 'control_plane_urls[0]'],
      [{ control_plane_urls: 'not a url' }, 'control_plane_urls[0]'],
      [{ control_plane_urls: { a: 1 } }, 'control_plane_urls'],
      [{ control_plane_url: 'https://ok.example', control_plane_urls: ['nope'] }, 'control_plane_urls[0]'],
      [{ control_plane_urls: [] }, 'control_plane_url'],
    ])('refuses %j naming %s', (content, key) => {
      expect(errorOf(() => urlsOf(content)).key).toBe(key);
    });

    it('names the index of a bad URL given in the environment', () => {
      const err = errorOf(() => urlsOf(null, { MESHGATE_CONTROL_PLANE_URLS: 'http://a.example,gopher://b' }));
      expect(err.key).toBe('control_plane_urls[1]');
      expect(err.message).toBe('invalid config control_plane_urls[1]: must be an http(s) URL');
    });
  });

  it.each([
    [{ ...minimal, bogus: 1 }, 'bogus'],
    [{ ...minimal, listen_port: 70000 }, 'listen_port'],
    [{ ...minimal, listen_port: '12x' }, 'listen_port'],
    [{ ...minimal, interface_name: 'much-too-long-name' }, 'interface_name'],
    [{ ...minimal, node_name: 'Upper' }, 'node_name'],
    [{ ...minimal, endpoint: 'no-port' }, 'endpoint'],
    [{ ...minimal, tags: ['ok', 'Not Ok'] }, 'tags'],
    [{ ...minimal, advertise_routes: ['10.1.0.0'] }, 'advertise_routes'],
    [{ ...minimal, advertise_routes: ['10.1.0.0/33'] }, 'advertise_routes'],
    [{ ...minimal, advertise_routes: ['fd00::zz/64'] }, 'advertise_routes'],
    [{ ...minimal, exit_node: 'Not A Name' }, 'exit_node'],
    [{ ...minimal, state_dir: 'relative' }, 'state_dir'],
    [{ ...minimal, heartbeat_interval: 0 }, 'heartbeat_interval'],
    [{ control_plane_url: 'ftp://x' }, 'control_plane_url'],
    [{}, 'control_plane_url'],
  ])('refuses %j naming %s', (content, key) => {
    expect(errorOf(() => loadAgentConfig(file(content), {}, 'host')).key).toBe(key);
  });

  it('refuses unknown MESHGATE_* variables and malformed files', () => {
    expect(errorOf(() => loadAgentConfig(file(minimal), { MESHGATE_LISTENPORT: '1' }, 'h')).key).toBe('MESHGATE_LISTENPORT');
    expect(errorOf(() => loadAgentConfig('{', {}, 'h')).key).toBe('config file');
    expect(errorOf(() => loadAgentConfig('[]', {}, 'h')).key).toBe('config file');
  });

  it('asks for node_name when the host name cannot be one', () => {
    expect(nodeNameFromHostname('___')).toBeNull();
    expect(errorOf(() => loadAgentConfig(file(minimal), {}, '___')).key).toBe('node_name');
  });
});

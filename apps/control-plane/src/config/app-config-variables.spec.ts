import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './app-config';
import { APP_CONFIG_VARIABLES, helpText } from './app-config-variables';

const listed = Object.keys(APP_CONFIG_VARIABLES).sort();

describe('the list of environment variables (what --help prints)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-app-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names every variable loadConfig reads, and loadConfig reads every one listed', () => {
    const read = new Set<string>();
    const values: Record<string, string> = {
      DATABASE_PATH: join(dir, 'data', 'meshgate.sqlite'),
      JWT_SECRET: 'x'.repeat(40),
      OIDC_ISSUER: 'https://idp.example.com',
      OIDC_CLIENT_ID: 'meshgate',
      OIDC_ALLOWED_DOMAINS: 'example.com',
      OIDC_REDIRECT_URL: 'https://meshgate.example.com/api/v1/auth/oidc/callback',
    };
    const env = new Proxy(values, {
      get: (target, name) => {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    loadConfig(env);
    expect([...read].sort()).toEqual(listed);
  });

  it('is the configuration table of the README', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Control plane configuration'));
    const table = section.slice(0, section.indexOf('\n\n'));
    const names = table.split('\n').filter((line) => line.startsWith('| `'))
      .flatMap((line) => [...line.split('|')[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect([...new Set(names)].sort()).toEqual(listed);
  });

  it('is printed whole by --help, each with its default', () => {
    const help = helpText('1.2.3');
    expect(help).toContain('MeshGate control plane 1.2.3');
    for (const [name, variable] of Object.entries(APP_CONFIG_VARIABLES)) {
      expect(help).toMatch(new RegExp(`^  ${name} +${variable.default.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\S`, 'm'));
    }
  });

  it('serves metrics on a listener of their own, on loopback, by default', () => {
    const config = loadConfig({ DATABASE_PATH: join(dir, 'meshgate.sqlite') });
    expect([config.metricsHost, config.metricsPort, config.port]).toEqual(['127.0.0.1', 9464, 8080]);
  });

  it('starts a manual scheduler clock where SCHEDULER_CLOCK_START says, and refuses a start it cannot read alike everywhere', () => {
    const env = { DATABASE_PATH: join(dir, 'meshgate.sqlite'), SCHEDULER_CLOCK: 'manual' };
    expect(loadConfig({ ...env, SCHEDULER_CLOCK_START: '2026-11-23T16:00:00Z' }).manualClockStart).toEqual(new Date('2026-11-23T16:00:00Z'));
    expect(loadConfig(env).manualClockStart).toBeNull();
    expect(() => loadConfig({ ...env, SCHEDULER_CLOCK_START: '2026-11-23T16:00:00' })).toThrow('date-time with a zone');
    expect(() => loadConfig({ ...env, SCHEDULER_CLOCK: 'system', SCHEDULER_CLOCK_START: '2026-11-23T16:00:00Z' })).toThrow('needs SCHEDULER_CLOCK=manual');
  });

  it('creates the data directory readable by the server user only', () => {
    const databasePath = join(dir, 'state', 'meshgate', 'meshgate.sqlite');
    loadConfig({ DATABASE_PATH: databasePath });
    expect(statSync(join(dir, 'state', 'meshgate')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'state', 'meshgate', 'jwt-secret')).mode & 0o777).toBe(0o600);
  });
});

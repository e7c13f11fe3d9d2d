import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CONFIG_VARIABLES } from '../src/config/app-config-variables';
import { client, startServer, TestServer } from './support/server';
import { runControlPlane } from './support/tls-process';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..', '..');
const UNIT = join(ROOT, 'deploy', 'meshgate-control-plane.service');
const ENV_EXAMPLE = join(ROOT, 'deploy', 'control-plane.env.example');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** systemd-analyze, when this machine has it (Debian: the systemd package). */
const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

describe('the control plane as a service', () => {
  it('prints every environment variable with --help, and exits 0', async () => {
    const run = runControlPlane({}, ['--help']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain(`MeshGate control plane ${VERSION}`);
    for (const name of Object.keys(APP_CONFIG_VARIABLES)) expect(run.output()).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it("prints the package's version with --version", async () => {
    const run = runControlPlane({}, ['--version']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toBe(`${VERSION}\n`);
  });

  it('refuses an unknown argument with exit code 2', async () => {
    const run = runControlPlane({}, ['--port=80']);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/unknown argument --port=80.*see --help/);
  });

  it('ships an env file example that sets only variables the server reads', () => {
    const names = readFileSync(ENV_EXAMPLE, 'utf8').split('\n')
      .map((line) => /^#?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]).filter((n): n is string => n !== undefined);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(Object.keys(APP_CONFIG_VARIABLES)).toContain(name);
  });

  it('ships a systemd unit that passes systemd-analyze verify', async () => {
    // Needed, as PostgreSQL is for the store specs: a spec fails rather than skips without what it tests with.
    if (!SYSTEMD_ANALYZE) throw new Error('systemd-analyze is not installed: apt-get install systemd (it only reads the unit, nothing is started)');
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-unit-'));
    try {
      // verify reads the unit by its file name; a copy keeps it from looking at the repository's other files.
      copyFileSync(UNIT, join(dir, 'meshgate-control-plane.service'));
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(SYSTEMD_ANALYZE, ['verify', join(dir, 'meshgate-control-plane.service')], { timeout: 30_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }));
      });
      expect({ code, output }).toEqual({ code: 0, output: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('DOCS=false', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer({ DOCS: 'false' });
    });
    afterAll(() => server?.dispose());

    it('serves neither Swagger UI nor the OpenAPI document', async () => {
      const api = client(server);
      expect((await api('GET', '/docs')).status).toBe(404);
      expect((await api('GET', '/docs-json')).status).toBe(404);
      expect((await api('GET', '/health/live')).status).toBe(200);
    });
  });
});

/**
 * The bundled agent (apps/agent/bundle.mjs) is self-contained: built into a temp directory with no node_modules
 * anywhere above it, it runs with plain node — --version, --help, `up` writing its config file, `status`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

jest.setTimeout(60_000);

interface Run { code: number; stdout: string; stderr: string }

describe('the bundled agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-agent-bundle-'));
  const bundle = join(dir, 'meshgate-agent.js');
  /** Plain node, from the bundle's directory, with no MESHGATE_* settings or NODE_PATH of this process. */
  const run = (args: string[], env: Record<string, string> = {}): Promise<Run> => new Promise((done) => {
    execFile(process.execPath, [bundle, ...args], { cwd: dir, env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });

  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'apps/agent/bundle.mjs'), '--outdir', dir], { stdio: 'pipe' });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one executable file beside its sha256, with no node_modules above it', () => {
    for (let d = dir; d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules'))).toBe(false);
    expect(statSync(bundle).mode & 0o777).toBe(0o755);
    expect(readFileSync(bundle, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const digest = createHash('sha256').update(readFileSync(bundle)).digest('hex');
    expect(readFileSync(`${bundle}.sha256`, 'utf8')).toBe(`${digest}  meshgate-agent.js\n`);
  });

  it('prints its version: the package version, with git describe when built from a checkout', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^meshgate-agent ${PACKAGE_VERSION.replace(/\./g, '\\.')}(\\+[0-9A-Za-z.-]+)?\\n$`));
  });

  it('prints its usage with --help, for the daemon and each command', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['--config', '--down-on-exit', '--rotate-key', 'up', 'status', 'down']) expect(help.stdout).toContain(word);
    const up = await run(['up', '--help']);
    expect(up.code).toBe(0);
    for (const flag of ['--auth-key', '--name', '--tags', '--advertise-routes', '--control-plane-url', '--listen-port', '--no-start']) expect(up.stdout).toContain(flag);
  });

  it('refuses an unknown option with exit code 2', async () => {
    const { code, stderr } = await run(['--bogus']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--bogus'");
  });

  it('up --no-start writes the config file (0600) from flags, normalised, keeping keys not given', async () => {
    const config = join(dir, 'agent.json');
    const first = await run(['up', '--config', config, '--no-start', '--control-plane-url', 'https://mesh.example.com/', '--auth-key', 'mgk_x',
      '--name', 'web-1', '--tags', 'web,tag:db', '--advertise-routes', '10.1.0.0/24', '--listen-port', '51821']);
    expect(first).toMatchObject({ code: 0, stdout: `wrote ${config}\n` });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual({
      control_plane_url: 'https://mesh.example.com', auth_token: 'mgk_x', node_name: 'web-1', tags: ['tag:web', 'tag:db'],
      advertise_routes: ['10.1.0.0/24'], listen_port: 51821,
    });
    // Again with one flag: the rest stays; an empty value removes a key.
    expect((await run(['up', '--config', config, '--no-start', '--interface', 'mg7', '--advertise-routes', ''])).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual({
      control_plane_url: 'https://mesh.example.com', auth_token: 'mgk_x', node_name: 'web-1', tags: ['tag:web', 'tag:db'],
      listen_port: 51821, interface_name: 'mg7',
    });
  });

  it('up refuses a bad value naming its flag, and leaves the file as it was', async () => {
    const config = join(dir, 'refused.json');
    writeFileSync(config, '{"control_plane_url":"https://mesh.example.com"}\n', { mode: 0o600 });
    const bad = await run(['up', '--config', config, '--no-start', '--listen-port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('meshgate-agent up: --listen-port: must be an integer between 1 and 65535\n');
    const badName = await run(['up', '--config', config, '--no-start', '--name', 'Not_A_Name']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--name: must be lowercase letters');
    expect(readFileSync(config, 'utf8')).toBe('{"control_plane_url":"https://mesh.example.com"}\n');
  });

  it('status exits 1 and says so when no agent has run', async () => {
    const config = join(dir, 'status.json-config');
    writeFileSync(config, JSON.stringify({ control_plane_url: 'https://mesh.example.com', state_dir: join(dir, 'no-state') }), { mode: 0o600 });
    const { code, stderr } = await run(['status', '--config', config]);
    expect(code).toBe(1);
    expect(stderr).toBe(`no agent status in ${join(dir, 'no-state')} (the agent has not run, or has not registered yet)\n`);
  });
});

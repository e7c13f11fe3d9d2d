/**
 * The installer as a user runs it: in a node namespace, `curl -fsSL <control plane>/install.sh | sh -s -- --auth-key …`
 * against a real control plane serving the bundled agent, with MESHGATE_PREFIX putting every path in a temp dir.
 * The tools are there, so it installs no package; there is no systemd, so it starts the agent in the background.
 * The node joins and pings a peer; a second run upgrades in place keeping the node id; --uninstall removes it all.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshLab, waitFor } from './harness/mesh-lab';
import { inNs } from './harness/netns';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../../..');
const ALLOW_ALL = [{ action: 'accept' as const, src: ['*'], dst: ['*'] }];

interface Run { code: number; stdout: string; stderr: string }

const hasBinary = (name: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('install.sh in a network namespace', () => {
  const lab = new MeshLab();
  const downloads = join(lab.dir, 'downloads');
  const prefix = join(lab.dir, 'root');
  const paths = {
    agent: join(prefix, 'usr/lib/meshgate/meshgate-agent.js'),
    bin: join(prefix, 'usr/bin/meshgate-agent'),
    config: join(prefix, 'etc/meshgate/agent.json'),
    unit: join(prefix, 'etc/systemd/system/meshgate-agent.service'),
    state: join(prefix, 'var/lib/meshgate'),
    pid: join(prefix, 'run/meshgate-agent.pid'),
    log: join(prefix, 'var/log/meshgate-agent.log'),
  };
  let enrollmentKey = '';
  let nodeId = '';

  /** Runs a shell command line in n2's namespace, as a user's shell would (MESHGATE_PREFIX exported). */
  const inN2 = (command: string): Promise<Run> => new Promise((done) => {
    execFile('ip', ['netns', 'exec', lab.node('n2').ns, 'sh', '-c', command],
      { env: { PATH: process.env.PATH, MESHGATE_PREFIX: prefix, MESHGATE_WAIT_SECONDS: '60' }, timeout: 90_000 },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
  const installer = (args: string) => inN2(`curl -fsSL ${lab.controlPlaneUrl}/install.sh | sh -s -- ${args}`);
  const agentLog = () => (existsSync(paths.log) ? readFileSync(paths.log, 'utf8').split('\n').slice(-10).join('\n') : '(no agent log)');
  const explain = (run: Run) => `exit ${run.code}\n${run.stderr}\n--- installed agent\n${agentLog()}\n${lab.tails()}`;
  const agentPid = () => Number(readFileSync(paths.pid, 'utf8').trim());
  const nodes = () => lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes');

  beforeAll(async () => {
    MeshLab.preflight();
    execFileSync(process.execPath, [join(ROOT, 'apps/agent/bundle.mjs'), '--outdir', downloads], { stdio: 'pipe' });
    await lab.createNetwork(['n1', 'n2']);
    await lab.startControlPlane({ PUBLIC_URL: lab.controlPlaneUrl, AGENT_DOWNLOAD_DIR: downloads });
    enrollmentKey = await lab.bootstrapTenant();
    await lab.putPolicy(ALLOW_ALL);
    lab.writeAgentConfig('n1', enrollmentKey);
    lab.startAgent('n1');
  });

  afterAll(async () => {
    await lab.teardown();
  });

  it('serves the script with its URL and the checksum of the agent it serves', async () => {
    const script = await inN2(`curl -fsS ${lab.controlPlaneUrl}/install.sh`);
    expect(script.code).toBe(0);
    const digest = createHash('sha256').update(readFileSync(join(downloads, 'meshgate-agent.js'))).digest('hex');
    expect(script.stdout).toContain(`CONTROL_PLANE_URL='${lab.controlPlaneUrl}'`);
    expect(script.stdout).toContain(`AGENT_SHA256='${digest}'`);
    const checksum = await inN2(`cd ${lab.dir} && curl -fsS -o meshgate-agent.js ${lab.controlPlaneUrl}/downloads/meshgate-agent.js`
      + ` && curl -fsS ${lab.controlPlaneUrl}/downloads/meshgate-agent.js.sha256 | sha256sum -c -`);
    expect(checksum).toMatchObject({ code: 0, stdout: 'meshgate-agent.js: OK\n' });
  });

  it('installs the agent, its 0600 config and a valid systemd unit, starts it, and the node joins and pings its peer', async () => {
    const n2 = lab.node('n2');
    const run = await installer(`--auth-key ${enrollmentKey} --name n2 --advertise-routes 10.99.0.0/24 --interface ${n2.ifname}`
      + ` --endpoint ${n2.underlay}:51820 --heartbeat-interval 1 --reconcile-interval 1`);
    expect({ code: run.code, log: explain(run) }).toEqual({ code: 0, log: expect.any(String) });
    expect(run.stderr).toContain('systemd is not running here: started the agent in the background');
    expect(run.stderr).toContain('meshgate: the node is online');

    expect(readFileSync(paths.agent)).toEqual(readFileSync(join(downloads, 'meshgate-agent.js')));
    expect(lstatSync(paths.bin).isSymbolicLink()).toBe(true);
    expect(statSync(paths.config).mode & 0o777).toBe(0o600);
    expect(statSync(paths.state).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(paths.config, 'utf8'))).toMatchObject({
      control_plane_url: lab.controlPlaneUrl, state_dir: paths.state, auth_token: enrollmentKey, node_name: 'n2',
      advertise_routes: ['10.99.0.0/24'], interface_name: n2.ifname,
    });
    const unit = readFileSync(paths.unit, 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${paths.agent} --config ${paths.config}\n`);

    const listed = await nodes();
    expect(listed.map((n) => n.name).sort()).toEqual(['n1', 'n2']);
    for (const view of listed) {
      lab.node(view.name).overlay = String(view.address).split('/')[0];
      if (view.name === 'n2') nodeId = view.id;
    }
    await waitFor(() => lab.canPing('n2', 'n1'), 20_000, () => `n2 cannot ping n1\n${agentLog()}\n${lab.tails()}`, 200);
    expect(await lab.canPing('n1', 'n2')).toBe(true);

    // The user's shell after the install: the agent refuses MESHGATE_* variables it does not know.
    const status = await inN2(`env -u MESHGATE_PREFIX -u MESHGATE_WAIT_SECONDS ${paths.bin} status --config ${paths.config}`);
    expect({ code: status.code, out: status.stdout + status.stderr }).toEqual({ code: 0, out: expect.stringContaining('state        online') });
    expect(status.stdout).toContain(`node         n2 (${nodeId})`);
    expect(status.stdout).toContain(`nft table meshgate_${n2.ifname}`);
    expect(status.stdout).toContain(listed.find((n) => n.name === 'n1').publicKey);
  });

  it('passes systemd-analyze verify (when systemd-analyze is installed)', () => {
    if (!hasBinary('systemd-analyze')) {
      process.stdout.write('systemd-analyze is not installed: the unit was not verified\n');
      return;
    }
    // The check is real: a unit whose ExecStart does not exist fails it.
    const broken = join(lab.dir, 'broken.service');
    writeFileSync(broken, readFileSync(paths.unit, 'utf8').replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/node'));
    expect(() => execFileSync('systemd-analyze', ['verify', broken], { stdio: 'pipe' })).toThrow(/not executable/);
    expect(execFileSync('systemd-analyze', ['verify', paths.unit], { stdio: 'pipe', encoding: 'utf8' })).toBe('');
  });

  it('upgrades in place when run again: same node, same key, a new agent process, still pinging', async () => {
    const before = agentPid();
    const key = readFileSync(join(paths.state, 'private.key'), 'utf8');
    const run = await installer('');
    expect({ code: run.code, log: explain(run) }).toEqual({ code: 0, log: expect.any(String) });
    expect(run.stderr).toContain('meshgate: upgraded; the node kept its identity');
    expect(agentPid()).not.toBe(before);
    expect(readFileSync(join(paths.state, 'private.key'), 'utf8')).toBe(key);
    const listed = await nodes();
    expect(listed.filter((n) => n.name === 'n2').map((n) => n.id)).toEqual([nodeId]);
    expect(listed).toHaveLength(2);
    await waitFor(() => lab.canPing('n2', 'n1'), 20_000, () => `n2 cannot ping n1 after the upgrade\n${agentLog()}`, 200);
  });

  it('--uninstall stops the agent, removes the interface and every file it installed', async () => {
    const pid = agentPid();
    const n2 = lab.node('n2');
    const run = await installer('--uninstall');
    expect({ code: run.code, log: explain(run) }).toEqual({ code: 0, log: expect.any(String) });
    expect(run.stderr).toContain('meshgate: uninstalled');
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['gone', 'Z']).toContain(state); // a zombie until whoever adopted it reaps it
    for (const path of Object.values(paths)) expect({ path, exists: existsSync(path) }).toEqual({ path, exists: false });
    expect(existsSync(join(prefix, 'etc/meshgate'))).toBe(false);
    await expect(inNs(n2.ns, 'ip', ['link', 'show', n2.ifname])).rejects.toThrow();
  });
});

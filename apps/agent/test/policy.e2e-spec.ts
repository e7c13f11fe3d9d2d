/**
 * The policy engine end to end: one policy document PUT to a real control plane, configs pushed over SSE, and real
 * agents enforcing it with nftables, tc and routes on wireguard-go interfaces in network namespaces. The scheduler
 * runs on a manual clock (SCHEDULER_CLOCK=manual) that the test moves, so windows open and close without waiting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MeshLab, waitFor } from './harness/mesh-lab';
import { inNs } from './harness/netns';
import { CLIENT, ECHO_SERVER, iperfMbit, nextLine, probe as probeFrom } from './harness/tcp-tools';

jest.setTimeout(90_000);

const NAMES = ['n1', 'n2', 'n3'];
const LAN = '10.77.0';
const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** 09:00 UTC on a Monday: the maintenance window (10:00–11:00 UTC) is closed. */
const BEFORE_WINDOW = '2026-11-23T09:00:00.000Z';
const IN_WINDOW = '2026-11-23T10:00:00.000Z';
const AFTER_WINDOW = '2026-11-23T11:00:00.000Z';

/** The document as a team would write it: HuJSON, with MeshGate's schedules, routes and qos. */
const policyText = (lanAllowed: boolean) => `{
  // n1 talks to n2's service, never to its ssh.
  "schedules": { "maintenance": { "timeZone": "UTC", "days": ${JSON.stringify(EVERY_DAY)}, "start": "10:00", "end": "11:00" } },
  "acls": [
    { "action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:8080", "n2:5201"] },
    ${lanAllowed ? '{ "action": "accept", "src": ["n1"], "dst": ["10.77.0.0/24:*"] },' : ''}
    // n1 may open n3's admin port during the maintenance window only.
    { "action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n3:9000"], "schedule": "maintenance" },
  ],
  "routes": { "10.77.0.0/24": ["n3"] },
  "qos": [{ "src": ["n1"], "dst": ["n2"], "rateMbit": 20 }],
  "tests": [{ "src": "n1", "accept": ["n2:8080"], "deny": ["n2:22"] }],
}`;


describe('policy engine, enforced on the nodes (control plane + agents in network namespaces)', () => {
  const lab = new MeshLab();
  const clients: ChildProcess[] = [];
  const figures: string[] = [];
  let lanNs = '';

  const overlay = (name: string) => lab.node(name).overlay!;
  const probe = (from: string, host: string, port: number, ms = 1000) => probeFrom(lab.node(from).ns, host, port, ms);
  /**
   * Waits until a connection opens, or until it cannot (dropped: 'timeout'; no route any more: 'ENETUNREACH').
   * Configs travel over SSE and are applied asynchronously, hence the wait.
   */
  const eventually = (from: string, host: string, port: number, want: 'open' | 'closed') =>
    waitFor(async () => ((await probe(from, host, port, 700)) === 'open') === (want === 'open'), 15_000,
      () => `${from} -> ${host}:${port} never ${want}\n${lab.tails()}`, 100);
  const setClock = async (now: string) => lab.api.expect(200, 'PUT', '/api/v1/test-clock', { now });
  const putText = async (text: string) => lab.api.call('PUT', '/api/v1/policies', undefined, {}, text);
  const configVersion = async (name: string) => (await lab.api.expect<any>(200, 'GET', `/api/v1/nodes/${lab.node(name).id}/config`)).version;

  beforeAll(async () => {
    MeshLab.preflight();
    await lab.createNetwork(NAMES);
    lanNs = await lab.addLan('n3', LAN);
    await lab.startControlPlane({ SCHEDULER_CLOCK: 'manual' });
    const enrollmentKey = await lab.bootstrapTenant();
    await setClock(BEFORE_WINDOW);
    const put = await putText(policyText(true));
    if (put.status !== 200) throw new Error(`PUT policy: ${put.status} ${JSON.stringify(put.body)}`);
    for (const name of NAMES) {
      lab.writeAgentConfig(name, enrollmentKey);
      lab.startAgent(name);
    }
    lab.spawnIn(lab.node('n2').ns, 'echo-n2', process.execPath, ['-e', ECHO_SERVER, '8080', '22']);
    lab.spawnIn(lab.node('n3').ns, 'echo-n3', process.execPath, ['-e', ECHO_SERVER, '9000']);
    lab.spawnIn(lanNs, 'echo-lan', process.execPath, ['-e', ECHO_SERVER, '80']);
    await waitFor(async () => (await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).length === 3, 20_000, () => lab.tails(), 200);
    for (const view of await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')) {
      const node = lab.node(view.name);
      node.id = view.id;
      node.overlay = String(view.address).split('/')[0];
    }
  });

  afterAll(async () => {
    for (const c of clients) if (c.exitCode === null) c.kill('SIGKILL');
    if (figures.length > 0) process.stdout.write(`\nMeshGate policy figures\n  ${figures.join('\n  ')}\n`);
    await lab.teardown();
  });

  it('n1 reaches n2 on tcp/8080 but not on tcp/22, and n2 cannot open a connection to n1', async () => {
    await eventually('n1', overlay('n2'), 8080, 'open');
    expect(await probe('n1', overlay('n2'), 22)).toBe('timeout');
    expect(await probe('n2', overlay('n1'), 8080)).toBe('timeout');
    // The MeshGate table is on the node, in its namespace, and names the interface.
    const table = await inNs(lab.node('n2').ns, 'nft', ['list', 'tables']);
    expect(table).toContain(`meshgate_${lab.node('n2').ifname}`);
  });

  it('reaches the LAN behind the subnet router n3 only while an ACL allows it', async () => {
    await eventually('n1', `${LAN}.2`, 80, 'open');
    // n2 has neither the route nor the right: the LAN is n3's, not the mesh's.
    expect(await probe('n2', `${LAN}.2`, 80)).not.toBe('open');
    expect((await putText(policyText(false))).body).toMatchObject({ version: 2 });
    await eventually('n1', `${LAN}.2`, 80, 'closed');
    expect((await putText(policyText(true))).body).toMatchObject({ version: 3 });
    await eventually('n1', `${LAN}.2`, 80, 'open');
  });

  it('limits n1 -> n2 to 20 Mbit/s (iperf3, within 25%)', async () => {
    lab.spawnIn(lab.node('n2').ns, 'iperf3-server', 'iperf3', ['-s', '-p', '5201']);
    let mbit = 0;
    await waitFor(async () => {
      const run = await iperfMbit(lab.node('n1').ns, overlay('n2'), 5201);
      if (run !== null) mbit = run;
      return run !== null;
    }, 15_000, () => 'iperf3 server never came up', 200);
    figures.push(`iperf3 n1 -> n2 under a 20 Mbit/s QoS entry: ${mbit.toFixed(1)} Mbit/s`);
    expect(mbit).toBeGreaterThanOrEqual(15);
    expect(mbit).toBeLessThanOrEqual(25);
  });

  it('opens n3:9000 when the schedule window opens and cuts a connection opened inside it when the window closes', async () => {
    expect(await probe('n1', overlay('n3'), 9000)).toBe('timeout');
    await setClock(IN_WINDOW);
    await eventually('n1', overlay('n3'), 9000, 'open');

    const client = spawn('ip', ['netns', 'exec', lab.node('n1').ns, process.execPath, '-e', CLIENT, overlay('n3'), '9000'], { stdio: ['pipe', 'pipe', 'pipe'] });
    clients.push(client);
    await nextLine(client, /connected/, 5_000);
    let echoed = nextLine(client, /^echo/, 3_000);
    client.stdin!.write('inside the window\n');
    await echoed;

    await setClock(AFTER_WINDOW);
    await eventually('n1', overlay('n3'), 9000, 'closed');
    echoed = nextLine(client, /^echo/, 3_000);
    client.stdin!.write('after the window\n');
    await expect(echoed).rejects.toThrow(/no line/);
    client.kill('SIGKILL');

    // The clock entered the log as events, so the audit (and a replay) shows when access opened and closed.
    const audit = await lab.api.expect<any>(200, 'GET', '/api/v1/audit?limit=500');
    const windows = (audit.items as any[]).filter((e) => /^ScheduleWindow/.test(e.type)).sort((a, b) => a.position - b.position)
      .map((e) => [e.type, e.details.schedule, e.details.at]);
    expect(windows).toEqual([
      ['ScheduleWindowOpened', 'maintenance', IN_WINDOW],
      ['ScheduleWindowClosed', 'maintenance', AFTER_WINDOW],
    ]);
  });

  it('refuses a PUT whose tests fail and changes nothing', async () => {
    const before = await lab.api.expect<any>(200, 'GET', '/api/v1/policies');
    const versions = await Promise.all(NAMES.map(configVersion));
    const broken = policyText(true).replace('"n2:8080", "n2:5201"', '"n2:22", "n2:5201"');
    const res = await putText(broken);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/tests\[0\]\.accept\[0\]: n1 should reach n2:8080/);
    expect(JSON.stringify(res.body)).toMatch(/tests\[0\]\.deny\[0\]: n1 should not reach n2:22/);
    expect(await lab.api.expect<any>(200, 'GET', '/api/v1/policies')).toEqual(before);
    expect(await Promise.all(NAMES.map(configVersion))).toEqual(versions);
    expect(await probe('n1', overlay('n2'), 8080)).toBe('open');
    expect(await probe('n1', overlay('n2'), 22)).toBe('timeout');
  });
});

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeConfig } from '../contracts';
import { formatStatus } from '../cli/status-command';
import { isOnline, processAlive, readAgentStatus, StatusRecorder } from './agent-status';

const PEER = 'cGVlcnBlZXJwZWVycGVlcnBlZXJwZWVycGVlcnBlZXI=';

const config = (version: number): NodeConfig => ({
  version,
  interface: { address: '100.64.0.2/10', listenPort: 51820 },
  peers: [{ publicKey: PEER, endpoint: '198.18.0.11:51820', allowedIps: ['100.64.0.1/32'], persistentKeepalive: 25, group: 'g1' }],
  routes: [{ destination: '10.1.0.0/24', via: '100.64.0.1' }],
  servedRoutes: [],
  firewall: [],
  qos: [],
});

describe('the agent status file', () => {
  let dir: string;
  let clock: number;
  const recorder = () => new StatusRecorder(dir, {
    agentVersion: '0.1.0-test',
    node: { id: 'node-1', name: 'n2', address: '100.64.0.2/32', publicKey: 'own', interface: 'mg0' },
    controlPlaneUrls: ['https://mesh.example.com'],
  }, () => new Date(clock));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mg-status-'));
    clock = Date.parse('2026-01-01T00:00:00Z');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is absent until the agent writes it', async () => {
    expect(await readAgentStatus(dir)).toBeNull();
  });

  it('records the applied version, enforcement and peers with their live handshakes, 0600, leaving no temp file', async () => {
    const status = recorder();
    await status.configApplied(config(7));
    clock += 1000;
    await status.heartbeatSent({
      publicKey: 'own', listenPort: 51820, up: true, addresses: [], routes: [], fwmark: 0,
      peers: [{ publicKey: PEER, endpoint: '198.18.0.11:40000', allowedIps: [], persistentKeepalive: 25, latestHandshake: 1_767_225_590, rxBytes: 10, txBytes: 20 }],
    }, null, new Map([[PEER, 'relayed']]));
    const written = (await readAgentStatus(dir))!;
    expect(written).toMatchObject({
      pid: process.pid,
      config: { version: 7, appliedAt: '2026-01-01T00:00:00.000Z' },
      heartbeat: { at: '2026-01-01T00:00:01.000Z', ok: true, error: null },
      enforcement: { nftTable: 'meshgate_mg0', firewallRules: 0, qosRules: 0, servedRoutes: [], routes: ['10.1.0.0/24 via 100.64.0.1'] },
      peers: [{ publicKey: PEER, allowedIps: ['100.64.0.1/32'], group: 'g1', endpoint: '198.18.0.11:40000', path: 'relayed', lastHandshakeAt: '2025-12-31T23:59:50.000Z', rxBytes: 10, txBytes: 20 }],
    });
    expect(statSync(join(dir, 'status.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['status.json']);
    expect(isOnline(written, processAlive)).toBe(true);
    const text = formatStatus(written, true, clock);
    expect(text).toContain('state        online');
    expect(text).toContain(`  ${PEER}  -  100.64.0.1/32  g1  198.18.0.11:40000 (relayed)  handshake 11s ago  rx 10 tx 20`);
  });

  it('is not online before a heartbeat was accepted, after a refused one, or when its writer is gone', async () => {
    const status = recorder();
    await status.configApplied(config(1));
    expect(isOnline((await readAgentStatus(dir))!, processAlive)).toBe(false);
    await status.heartbeatSent(null, new Error('connect ECONNREFUSED'));
    const refused = (await readAgentStatus(dir))!;
    expect(refused.heartbeat).toMatchObject({ ok: false, error: 'connect ECONNREFUSED' });
    expect(isOnline(refused, processAlive)).toBe(false);
    await status.heartbeatSent(null, null);
    const accepted = (await readAgentStatus(dir))!;
    expect(isOnline(accepted, () => true)).toBe(true);
    expect(isOnline(accepted, () => false)).toBe(false);
    expect(formatStatus(accepted, false, clock)).toContain('state        not running');
  });

  it('writes on a drift check only when the live version changed', async () => {
    const status = recorder();
    await status.configApplied(config(3));
    clock += 5000;
    await status.configApplied(config(3));
    expect((await readAgentStatus(dir))!.config).toEqual({ version: 3, appliedAt: '2026-01-01T00:00:00.000Z' });
    await status.configApplied(config(4));
    expect((await readAgentStatus(dir))!.config).toEqual({ version: 4, appliedAt: '2026-01-01T00:00:05.000Z' });
  });

  it('survives its directory being removed (an uninstall while it runs)', async () => {
    const status = recorder();
    rmSync(dir, { recursive: true, force: true });
    await expect(status.configApplied(config(1))).resolves.toBeUndefined();
  });

  it('knows a live process from a gone one', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 12345)).toBe(false);
  });
});

/**
 * Key rotation on a real network: the control plane and two agents (kr1, kr2) in their own network namespaces, each
 * driving a real wireguard-go. A rotation (SIGUSR1 to a running agent; --rotate-key at a start) replaces the key on
 * the live interface without recreating it, every peer gets the new key by a patch, and a ping running across it
 * loses at most one handshake's worth of packets (WireGuard retries a handshake after 5 s).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MeshLab, sleep, waitFor } from './harness/mesh-lab';

jest.setTimeout(90_000);

const NAMES = ['kr1', 'kr2'];
const ALLOW_ALL = [{ action: 'accept' as const, src: ['*'], dst: ['*'] }];
const PING_INTERVAL_S = 0.1;
/** REKEY_TIMEOUT: one handshake attempt's worth of lost packets, plus a little for the scheduler. */
const ONE_HANDSHAKE_S = 5;

/** "N packets transmitted, M received" of ping's summary. */
function pingSummary(output: string): { sent: number; received: number } {
  const match = /(\d+) packets transmitted, (\d+) received/.exec(output);
  if (!match) throw new Error(`no ping summary in:\n${output}`);
  return { sent: Number(match[1]), received: Number(match[2]) };
}

describe('node key rotation in network namespaces', () => {
  const lab = new MeshLab();
  const figures: string[] = [];

  const ifindex = async (name: string) => {
    const node = lab.node(name);
    return (JSON.parse(await lab.sh('ip', ['-n', node.ns, '-j', 'link', 'show', 'dev', node.ifname])) as Array<{ ifindex: number }>)[0].ifindex;
  };
  const viewOf = async (name: string) => lab.api.expect<{ publicKey: string; keyExpiresAt: string | null }>(200, 'GET', `/api/v1/nodes/${lab.node(name).id}`);
  /** Both agents live on the given keys: each interface carries its own, and the other's as its peer. */
  const meshOn = async (keys: Record<string, string>) => {
    for (const name of NAMES) {
      const other = NAMES.find((n) => n !== name)!;
      if ((await lab.publicKey(name).catch(() => null)) !== keys[name]) return false;
      if ((await lab.peers(name)).join() !== keys[other]) return false;
    }
    return true;
  };
  const keys: Record<string, string> = {};

  /** Rotates `name`'s key with `trigger` while `pinger` pings it; returns the new key and the ping's loss. */
  async function rotateUnderPing(name: string, pinger: string, trigger: () => Promise<void>): Promise<{ key: string; lost: number; sent: number }> {
    const seconds = 12;
    const pinging = lab.ping(pinger, name, ['-c', String(seconds / PING_INTERVAL_S), '-i', String(PING_INTERVAL_S), '-W', '1'])
      .catch((err: Error) => err.message);
    await sleep(1_500);
    const before = keys[name];
    await trigger();
    await waitFor(async () => (await viewOf(name)).publicKey !== before, 10_000, () => `${name} did not rotate\n${lab.tails()}`, 50);
    const key = (await viewOf(name)).publicKey;
    keys[name] = key;
    await waitFor(() => meshOn(keys), 10_000, () => `rotated key not live on both agents\n${lab.tails()}`, 50);
    const { sent, received } = pingSummary(await pinging);
    return { key, lost: sent - received, sent };
  }

  beforeAll(async () => {
    MeshLab.preflight();
    await lab.createNetwork(NAMES);
    await lab.startControlPlane();
    const enrollmentKey = await lab.bootstrapTenant();
    await lab.putPolicy(ALLOW_ALL);
    for (const name of NAMES) {
      lab.writeAgentConfig(name, enrollmentKey);
      lab.startAgent(name);
    }
    await waitFor(async () => (await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).length === NAMES.length, 20_000, () => lab.tails(), 200);
    for (const view of await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')) {
      const node = lab.node(view.name);
      node.id = view.id;
      node.overlay = String(view.address).split('/')[0];
      keys[view.name] = view.publicKey;
    }
    await waitFor(() => meshOn(keys), 15_000, () => `no mesh\n${lab.tails()}`);
    await waitFor(() => lab.canPing('kr2', 'kr1'), 12_000, () => `kr2 cannot ping kr1\n${lab.tails()}`, 100);
  });

  afterAll(async () => {
    if (figures.length > 0) process.stdout.write(`\nMeshGate key rotation figures\n  ${figures.join('\n  ')}\n`);
    await lab.teardown();
  });

  it('rotates a running agent\u2019s key on SIGUSR1 in place; a ping across it loses at most one handshake', async () => {
    const node = lab.node('kr1');
    const index = await ifindex('kr1');
    const pid = node.agent!.pid;
    const previous = keys.kr1;
    const { key, lost, sent } = await rotateUnderPing('kr1', 'kr2', async () => {
      process.kill(pid, 'SIGUSR1');
    });
    expect(key).not.toBe(previous);
    expect(lost * PING_INTERVAL_S).toBeLessThanOrEqual(ONE_HANDSHAKE_S);
    figures.push(`SIGUSR1 rotation on kr1: kr2->kr1 ping lost ${lost}/${sent} packets (${(lost * PING_INTERVAL_S).toFixed(1)} s)`);
    // The same interface (never recreated), the same agent process, the new private key kept 0600.
    expect(await ifindex('kr1')).toBe(index);
    expect(node.agent!.running).toBe(true);
    expect(statSync(join(node.stateDir, 'private.key')).mode & 0o777).toBe(0o600);
    const sinceRotation = node.agent!.log().split('rotating the node key')[1] ?? '';
    expect(sinceRotation).toContain('node key rotated');
    expect(sinceRotation).not.toContain('interface missing');
    expect(await lab.canPing('kr1', 'kr2')).toBe(true);
  });

  it('rotates at a start with --rotate-key while the interface (and the ping) stays up', async () => {
    const node = lab.node('kr2');
    const index = await ifindex('kr2');
    const previous = keys.kr2;
    const { key, lost, sent } = await rotateUnderPing('kr2', 'kr1', async () => {
      expect(await node.agent!.stop('SIGTERM')).toBe(0);
      lab.startAgent('kr2', ['--rotate-key']);
    });
    expect(key).not.toBe(previous);
    expect(lost * PING_INTERVAL_S).toBeLessThanOrEqual(ONE_HANDSHAKE_S);
    figures.push(`--rotate-key restart of kr2: kr1->kr2 ping lost ${lost}/${sent} packets (${(lost * PING_INTERVAL_S).toFixed(1)} s)`);
    expect(await ifindex('kr2')).toBe(index);
    // Still one node, registered once: the identity moved to the new key.
    expect(await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).toHaveLength(2);
    expect(node.agent!.log()).toContain('node key rotated');
    expect(await lab.canPing('kr2', 'kr1')).toBe(true);
  });
});

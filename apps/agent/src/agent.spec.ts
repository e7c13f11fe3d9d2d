import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from './agent';
import type { AgentConfig } from './agent-config';
import type { NodeConfig } from './contracts';
import type { ControlPlaneClient } from './control-plane/control-plane-client';
import { sseResponse } from './control-plane/testing/sse-response';
import { createLogger } from './logger';
import { MemoryWireGuard } from './wireguard/testing/memory-wireguard';

const peer = (key: string) => ({ publicKey: key, endpoint: null, allowedIps: ['100.64.0.9/32'], persistentKeepalive: 0 });
const config = (version: number, keys: string[]): NodeConfig => ({
  version, interface: { address: '100.64.0.2/10', listenPort: 51820 }, peers: keys.map(peer), routes: [], servedRoutes: [], firewall: [], qos: [],
});

describe('Agent', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mg-agent-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  function setup(streams: Response[], fullConfig: NodeConfig) {
    const calls = { register: 0, getConfig: 0, lastEventIds: [] as Array<string | null> };
    const client = {
      register: async (_token: string, body: { publicKey: string }) => {
        calls.register++;
        return { id: 'node-1', name: 'n1', publicKey: body.publicKey, address: '100.64.0.2', tags: [], nodeToken: 'tok' };
      },
      getConfig: async () => {
        calls.getConfig++;
        return fullConfig;
      },
      heartbeat: async () => undefined,
      reportFailure: () => undefined,
      openConfigStream: async (_id: string, _token: string, lastEventId: string | null, signal: AbortSignal) => {
        calls.lastEventIds.push(lastEventId);
        const next = streams.shift();
        if (next) return { response: next, baseUrl: 'http://cp' };
        // No more scripted events: hold the stream open until the agent stops.
        return { response: new Response(new ReadableStream({ start: (c) => signal.addEventListener('abort', () => c.error(signal.reason)) })), baseUrl: 'http://cp' };
      },
    } as unknown as ControlPlaneClient;
    const wg = new MemoryWireGuard();
    const cfg: AgentConfig = {
      controlPlaneUrls: ['http://cp'], controlPlaneCa: null, tenantId: null, authToken: 'enroll', interfaceName: wg.interfaceName, heartbeatInterval: 30,
      reconcileInterval: 30, nodeName: 'n1', endpoint: null, listenPort: 51820, tags: [], advertiseRoutes: [], exitNode: null, stateDir, logLevel: 'error', keyRotationMargin: 604800, metricsPort: null,
    };
    const make = () => new Agent({ config: cfg, downOnExit: false, logger: createLogger({ level: 'error', write: () => undefined }), client, wireGuard: () => wg });
    return { calls, wg, make };
  }

  const livePeers = (wg: MemoryWireGuard) => wg.peerKeys();
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  it('applies config then patches, and refetches the full config when a patch does not follow', async () => {
    const { calls, wg, make } = setup(
      [sseResponse([
        ['config', config(1, ['A'])],
        ['patch', { version: 2, baseVersion: 1, peersUpserted: [peer('B')], peersRemoved: [] }],
        ['patch', { version: 5, baseVersion: 4, peersUpserted: [], peersRemoved: ['A'] }],
      ])],
      config(5, ['B', 'C']),
    );
    const agent = make();
    await agent.start();
    await until(() => calls.getConfig === 1 && livePeers(wg).join() === 'B,C');
    await agent.stop();
  });

  it('registers once and resumes with the saved version after a restart', async () => {
    const first = setup([sseResponse([['config', config(3, ['A'])]])], config(3, ['A']));
    const agent = first.make();
    await agent.start();
    await until(() => livePeers(first.wg).join() === 'A');
    await agent.stop();

    const second = setup([], config(3, ['A']));
    const again = second.make();
    await again.start();
    await until(() => second.calls.lastEventIds.length === 1);
    await again.stop();
    expect(first.calls.register + second.calls.register).toBe(1);
    expect(second.calls.lastEventIds).toEqual(['3']);
    expect(again.nodeId).toBe('node-1');
  });
});

/**
 * The agent's own metrics: a real agent (its WireGuard in memory, no root needed) registered with a real control plane,
 * serving /metrics on 127.0.0.1:metrics_port, checked by promtool and read for handshake ages, reconcile errors and
 * the applied config version.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../control-plane/src/bench/servers';
import { promtoolCheck } from '../../control-plane/test/support/promtool';
import { ALLOW_ALL, createNode, eventually, putPolicy, request, setupTenant, startServer, type TestServer } from '../../control-plane/test/support/server';
import { Agent } from '../src/agent';
import type { AgentConfig } from '../src/agent-config';
import { createLogger } from '../src/logger';
import { MemoryWireGuard } from '../src/wireguard/testing/memory-wireguard';

/** The memory interface, made to fail its next read as `wg show` fails when the interface is being torn down. */
class FlakyWireGuard extends MemoryWireGuard {
  failNextRead = false;

  override async read() {
    if (this.failNextRead) {
      this.failNextRead = false;
      throw new Error('wg show: interface busy');
    }
    return super.read();
  }
}

/** The value of one sample (`name{labels} value`), or undefined when the exposition has none. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('agent metrics on loopback', () => {
  let server: TestServer;
  let stateDir: string;
  let agent: Agent | null = null;

  beforeAll(async () => {
    server = await startServer();
    stateDir = await mkdtemp(join(tmpdir(), 'mg-agent-metrics-'));
  });

  afterAll(async () => {
    await agent?.stop();
    await rm(stateDir, { recursive: true, force: true });
    await server?.dispose();
  });

  it('serves promtool-clean metrics: build, applied version, handshake age per peer, reconcile errors', async () => {
    const owner = await setupTenant(server.baseUrl, 'agent-metrics');
    expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL)).status).toBe(200);
    const key = await request(server.baseUrl, 'POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true } });
    const peer = await createNode(server.baseUrl, owner.token, { name: 'metrics-peer' });
    const metricsPort = await freePort();
    const wg = new FlakyWireGuard(`mgmx${process.pid % 10000}`);
    const config: AgentConfig = {
      controlPlaneUrls: [server.baseUrl], controlPlaneCa: null, tenantId: null, authToken: key.body.key, interfaceName: wg.interfaceName,
      heartbeatInterval: 30, reconcileInterval: 0.1, nodeName: 'metrics-agent', endpoint: null, listenPort: 51820, tags: [], advertiseRoutes: [],
      exitNode: null, stateDir, logLevel: 'error', keyRotationMargin: 604800, metricsPort,
    };
    agent = new Agent({ config, downOnExit: false, wireGuard: () => wg, logger: createLogger({ level: 'error', write: () => undefined }) });
    await agent.start();
    const scrape = async () => {
      const reply = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(reply.status).toBe(200);
      return reply.text();
    };

    await eventually(() => wg.peerKeys().includes(peer.publicKey), 10_000, 'the peer live on the agent');
    const applied = (await request(server.baseUrl, 'GET', `/api/v1/nodes/${agent.nodeId}/config`, { token: owner.token })).body.version as number;
    // The peer shook hands 42 s ago: the next drift check reads it off the interface.
    wg.state!.peers.find((p) => p.publicKey === peer.publicKey)!.latestHandshake = Math.floor(Date.now() / 1000) - 42;
    const text = await eventually(async () => {
      const t = await scrape();
      return sample(t, `meshgate_agent_peer_handshake_age_seconds{peer="${peer.publicKey}"}`) !== undefined && t;
    }, 5_000, 'the handshake age in /metrics');

    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
    const age = sample(text, `meshgate_agent_peer_handshake_age_seconds{peer="${peer.publicKey}"}`)!;
    expect(age).toBeGreaterThanOrEqual(42);
    expect(age).toBeLessThan(60);
    expect(sample(text, 'meshgate_agent_config_version')).toBe(applied);
    expect(sample(text, 'meshgate_agent_peers')).toBe(1);
    expect(sample(text, 'meshgate_agent_reconcile_errors_total')).toBe(0);
    expect(sample(text, 'meshgate_agent_reconciles_total')).toBeGreaterThan(1);
    expect(text).toMatch(/^meshgate_agent_build_info\{version="[^"]+"\} 1$/m);

    wg.failNextRead = true;
    await eventually(async () => sample(await scrape(), 'meshgate_agent_reconcile_errors_total') === 1, 5_000, 'the failed reconcile counted');

    // Loopback only, and nothing but /metrics.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
    await agent.stop();
    agent = null;
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  }, 30_000);
});

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from './agent';
import type { AgentConfig } from './agent-config';
import type { ConfigPatch, NodeConfig, NodeKeyStatus } from './contracts';
import { ControlPlaneClient, HttpError } from './control-plane/control-plane-client';
import { generatePrivateKey, publicKeyOf } from './identity/key-pair';
import { StateStore } from './identity/state-store';
import { sseResponse } from './control-plane/testing/sse-response';
import { createLogger } from './logger';
import { MemoryWireGuard } from './wireguard/testing/memory-wireguard';

const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const peer = (key: string) => ({ publicKey: key, endpoint: null, allowedIps: ['100.64.0.9/32'], persistentKeepalive: 0 });
const config = (version: number, keys: string[], key?: NodeKeyStatus): NodeConfig => ({
  version, interface: { address: '100.64.0.2/10', listenPort: 51820 }, peers: keys.map(peer), routes: [], servedRoutes: [], firewall: [], qos: [],
  ...(key ? { key } : {}),
});
const until = async (check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 300 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await check()).toBe(true);
};

describe('Agent key rotation', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mg-agent-keys-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  /** An agent whose control plane sends `events` and answers rotations with `rotate` (recording each key offered). */
  function setup(events: Array<['config' | 'patch', NodeConfig | ConfigPatch]>, options: {
    rotate?: (publicKey: string) => Promise<unknown>; rotateOnStart?: boolean; margin?: number;
  } = {}) {
    const rotations: string[] = [];
    const client = {
      register: async (_token: string, body: { publicKey: string }) =>
        ({ id: 'node-1', name: 'n1', publicKey: body.publicKey, address: '100.64.0.2', tags: [], nodeToken: 'tok' }),
      getConfig: async () => events[0][1],
      heartbeat: async () => undefined,
      reportFailure: () => undefined,
      rotateKey: async (_id: string, _token: string, publicKey: string) => {
        rotations.push(publicKey);
        await options.rotate?.(publicKey);
        return { publicKey, keyExpiresAt: iso(NOW + 180 * DAY), keyExpired: false };
      },
      openConfigStream: async (_id: string, _token: string, _last: string | null, signal: AbortSignal) => {
        const next = events.length ? sseResponse(events.splice(0)) : null;
        if (next) return { response: next, baseUrl: 'http://cp' };
        return { response: new Response(new ReadableStream({ start: (c) => signal.addEventListener('abort', () => c.error(signal.reason)) })), baseUrl: 'http://cp' };
      },
    } as unknown as ControlPlaneClient;
    const wg = new MemoryWireGuard();
    const cfg: AgentConfig = {
      controlPlaneUrls: ['http://cp'], controlPlaneCa: null, tenantId: null, authToken: 'enroll', interfaceName: wg.interfaceName, heartbeatInterval: 30,
      reconcileInterval: 30, nodeName: 'n1', endpoint: null, listenPort: 51820, tags: [], advertiseRoutes: [], exitNode: null, stateDir,
      logLevel: 'error', keyRotationMargin: options.margin ?? 7 * 24 * 3600, metricsPort: null,
    };
    const agent = new Agent({
      config: cfg, downOnExit: false, logger: createLogger({ level: 'error', write: () => undefined }), client, now: () => NOW,
      rotateKey: options.rotateOnStart,
      wireGuard: (path) => {
        wg.privateKeyPath = path;
        return wg;
      },
    });
    const store = new StateStore(stateDir);
    const keyFile = async () => publicKeyOf(Buffer.from((await readFile(store.privateKeyPath, 'utf8')).trim(), 'base64')).toString('base64');
    return { agent, wg, rotations, store, keyFile };
  }

  it('an expired key is rotated at once: new key file (0600), node.json, the live interface; never recreated', async () => {
    const { agent, wg, rotations, store, keyFile } = setup([['config', config(1, [], { issuedAt: iso(NOW - 200 * DAY), expiresAt: iso(NOW - 20 * DAY), expired: true })]]);
    await agent.start();
    const original = await keyFile();
    await until(() => rotations.length === 1);
    await until(async () => wg.state?.publicKey === rotations[0]);
    expect(rotations[0]).not.toBe(original);
    expect(await keyFile()).toBe(rotations[0]);
    expect((await stat(store.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await store.loadIdentity())!.publicKey).toBe(rotations[0]);
    expect(await store.pendingNextKey()).toBeNull();
    expect(wg.creations).toBe(1);
    await agent.stop();
  });

  it('rotates within the margin before expiry, or at half the key lifetime when that is shorter; not before', async () => {
    const soon = setup([['config', config(1, [], { issuedAt: iso(NOW - 175 * DAY), expiresAt: iso(NOW + 5 * DAY), expired: false })]]);
    await soon.agent.start();
    await until(() => soon.rotations.length === 1);
    await soon.agent.stop();
    await rm(stateDir, { recursive: true, force: true });

    const later = setup([['config', config(1, [], { issuedAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 170 * DAY), expired: false })]]);
    await later.agent.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(later.rotations).toEqual([]);
    await later.agent.stop();
    await rm(stateDir, { recursive: true, force: true });

    // A 2-day expiry, a 7-day margin: rotate at half-life (1 day), not on every config.
    const short = setup([['config', config(1, [], { issuedAt: iso(NOW - 0.5 * DAY), expiresAt: iso(NOW + 1.5 * DAY), expired: false })]]);
    await short.agent.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(short.rotations).toEqual([]);
    await short.agent.stop();
  });

  it('rotates on demand (--rotate-key), and never with expiry disabled', async () => {
    const { agent, rotations } = setup([['config', config(1, [], { issuedAt: iso(NOW - 400 * DAY), expiresAt: null, expired: false })]], { rotateOnStart: true });
    await agent.start();
    await until(() => rotations.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(rotations).toHaveLength(1);
    await agent.stop();
  });

  it('a key the control plane refuses (409) is discarded, the current key kept', async () => {
    const refused = setup([['config', config(1, [])]], { rotateOnStart: true, rotate: async () => { throw new HttpError(409, 'taken', 'rotate key'); } });
    await refused.agent.start();
    const before = await refused.keyFile();
    await until(() => refused.rotations.length === 1);
    await until(async () => (await refused.store.pendingNextKey()) === null);
    expect(await refused.keyFile()).toBe(before);
    await refused.agent.stop();
  });

  it('finishes a rotation interrupted after the control plane took the key, with the same key', async () => {
    // First start: registered with key 1.
    const first = setup([['config', config(1, [])]]);
    await first.agent.start();
    await first.agent.stop();
    // A rotation got as far as making key 2 and being accepted; node.json still names key 1.
    const next = generatePrivateKey();
    await writeFile(first.store.nextPrivateKeyPath, next.toString('base64') + '\n', { mode: 0o600 });
    const nextPublic = publicKeyOf(next).toString('base64');
    const again = setup([['config', config(2, [])]]);
    await again.agent.start();
    await until(() => again.rotations.length === 1);
    expect(again.rotations[0]).toBe(nextPublic);
    await until(async () => (await again.keyFile()) === nextPublic);
    await again.agent.stop();
    // Crashed after node.json named key 3 but before the key file moved: the next start just promotes it.
    const third = generatePrivateKey();
    await writeFile(again.store.nextPrivateKeyPath, third.toString('base64') + '\n', { mode: 0o600 });
    const identity = (await again.store.loadIdentity())!;
    await again.store.saveIdentity({ ...identity, publicKey: publicKeyOf(third).toString('base64') });
    const last = setup([['config', config(3, [])]]);
    await last.agent.start();
    expect(await last.keyFile()).toBe(publicKeyOf(third).toString('base64'));
    expect(await last.store.pendingNextKey()).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(last.rotations).toEqual([]);
    await last.agent.stop();
  });
});

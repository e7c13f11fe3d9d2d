import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyOf } from './key-pair';
import { InsecureStateError, StateStore } from './state-store';

describe('StateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mg-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 private key once and reuses it', async () => {
    const store = new StateStore(join(dir, 'nested'));
    const first = await store.loadOrCreateKey();
    expect(first.created).toBe(true);
    expect((await stat(store.privateKeyPath)).mode & 0o777).toBe(0o600);
    const raw = Buffer.from((await readFile(store.privateKeyPath, 'utf8')).trim(), 'base64');
    expect(publicKeyOf(raw).toString('base64')).toBe(first.publicKey);
    expect(await store.loadOrCreateKey()).toEqual({ publicKey: first.publicKey, created: false });
  });

  it('refuses a private key readable by group or others', async () => {
    const store = new StateStore(dir);
    await store.loadOrCreateKey();
    await chmod(store.privateKeyPath, 0o640);
    await expect(store.loadOrCreateKey()).rejects.toBeInstanceOf(InsecureStateError);
  });

  it('keeps the identity and last config in 0600 files', async () => {
    const store = new StateStore(dir);
    expect(await store.loadIdentity()).toBeNull();
    const identity = { nodeId: 'n-1', nodeToken: 't', publicKey: 'pk', address: '100.64.0.2' };
    await store.saveIdentity(identity);
    expect(await store.loadIdentity()).toEqual(identity);
    expect((await stat(join(dir, 'node.json'))).mode & 0o777).toBe(0o600);
    const config = { version: 3, interface: { address: '100.64.0.2/10', listenPort: 51820 }, peers: [], routes: [], servedRoutes: [], firewall: [], qos: [] };
    await store.saveConfig(config);
    expect(await store.loadConfig()).toEqual(config);
  });

  it('loads a config saved by an older agent: missing lists are empty, a missing firewall stays absent (not enforced)', async () => {
    const store = new StateStore(dir);
    const old = { version: 2, interface: { address: '100.64.0.2/10', listenPort: 51820 }, peers: [{ publicKey: 'P', endpoint: null, allowedIps: ['100.64.0.3/32'], persistentKeepalive: 0 }] };
    await writeFile(join(dir, 'config.json'), JSON.stringify(old), { mode: 0o600 });
    const loaded = await store.loadConfig();
    expect(loaded).toEqual({ ...old, routes: [], servedRoutes: [], qos: [] });
    expect(loaded).not.toHaveProperty('firewall');
  });
});

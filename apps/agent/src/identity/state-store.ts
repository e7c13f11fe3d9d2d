import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeConfig } from '../contracts';
import { normalizeNodeConfig } from '../node-config';
import { generatePrivateKey, publicKeyOf } from './key-pair';

/** What registration gave this machine; kept so that a restart never registers a second node. */
export interface NodeIdentity {
  nodeId: string;
  nodeToken: string;
  publicKey: string;
  address: string;
}

/** A state file that group or others could read: the agent refuses to run with it (exit 2). */
export class InsecureStateError extends Error {}

const PRIVATE_KEY_FILE = 'private.key';
const IDENTITY_FILE = 'node.json';
const CONFIG_FILE = 'config.json';

/**
 * The agent's files in state_dir: the private key (base64, the format `wg set … private-key FILE` reads), the
 * node identity and the last config applied (so that a restart while the control plane is down restores the mesh).
 */
export class StateStore {
  constructor(readonly dir: string) {}

  get privateKeyPath(): string {
    return join(this.dir, PRIVATE_KEY_FILE);
  }

  /** Loads the key pair, making one on first start. Returns the base64 public key. */
  async loadOrCreateKey(): Promise<{ publicKey: string; created: boolean }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let created = false;
    try {
      await writeFile(this.privateKeyPath, generatePrivateKey().toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await this.assertPrivate(this.privateKeyPath);
    const raw = Buffer.from((await readFile(this.privateKeyPath, 'utf8')).trim(), 'base64');
    if (raw.length !== 32) throw new InsecureStateError(`${this.privateKeyPath} does not hold a WireGuard private key`);
    return { publicKey: publicKeyOf(raw).toString('base64'), created };
  }

  async loadIdentity(): Promise<NodeIdentity | null> {
    const data = await this.readPrivateJson(IDENTITY_FILE);
    return data === null ? null : (data as NodeIdentity);
  }

  async saveIdentity(identity: NodeIdentity): Promise<void> {
    await this.writePrivateJson(IDENTITY_FILE, identity);
  }

  async loadConfig(): Promise<NodeConfig | null> {
    const config = (await this.readPrivateJson(CONFIG_FILE)) as NodeConfig | null;
    return config === null ? null : normalizeNodeConfig(config);
  }

  async saveConfig(config: NodeConfig): Promise<void> {
    await this.writePrivateJson(CONFIG_FILE, config);
  }

  private async assertPrivate(path: string): Promise<void> {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new InsecureStateError(
        `${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
  }

  private async readPrivateJson(name: string): Promise<unknown | null> {
    const path = join(this.dir, name);
    let content: string;
    try {
      await this.assertPrivate(path);
      content = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(content);
  }

  /** Write-then-rename so that a crash never leaves a half-written file behind. */
  private async writePrivateJson(name: string, data: unknown): Promise<void> {
    const path = join(this.dir, name);
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }
}

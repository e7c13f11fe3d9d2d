import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
/** A key being rotated to: made before the control plane is told, promoted once it accepted it. */
const NEXT_PRIVATE_KEY_FILE = 'private.key.next';
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
    const created = await createKeyOnce(this.privateKeyPath);
    await this.assertPrivate(this.privateKeyPath);
    const raw = Buffer.from((await readFile(this.privateKeyPath, 'utf8')).trim(), 'base64');
    if (raw.length !== 32) throw new InsecureStateError(`${this.privateKeyPath} does not hold a WireGuard private key`);
    return { publicKey: publicKeyOf(raw).toString('base64'), created };
  }

  get nextPrivateKeyPath(): string {
    return join(this.dir, NEXT_PRIVATE_KEY_FILE);
  }

  /**
   * The key to rotate to: the one a rotation interrupted earlier left (so that a retry offers the control plane the
   * same key), or a new one, written 0600 before anyone is told about it. Returns its base64 public key.
   */
  async loadOrCreateNextKey(): Promise<{ publicKey: string; created: boolean }> {
    const created = await createKeyOnce(this.nextPrivateKeyPath);
    return { publicKey: await this.publicKeyIn(this.nextPrivateKeyPath), created };
  }

  /** The public key of an interrupted rotation's key, or null when none is pending. */
  async pendingNextKey(): Promise<string | null> {
    try {
      return await this.publicKeyIn(this.nextPrivateKeyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** The control plane accepted the next key: it becomes the key (an atomic rename, mode 0600 kept). */
  async promoteNextKey(): Promise<void> {
    await this.assertPrivate(this.nextPrivateKeyPath);
    await rename(this.nextPrivateKeyPath, this.privateKeyPath);
  }

  /** Drops the next key (the control plane refused it). */
  async discardNextKey(): Promise<void> {
    await rm(this.nextPrivateKeyPath, { force: true });
  }

  private async publicKeyIn(path: string): Promise<string> {
    await this.assertPrivate(path);
    const raw = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    if (raw.length !== 32) throw new InsecureStateError(`${path} does not hold a WireGuard private key`);
    return publicKeyOf(raw).toString('base64');
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

/** Writes a new private key (0600) unless the file exists; whether it wrote one. Exclusive create: no race, no overwrite. */
async function createKeyOnce(path: string): Promise<boolean> {
  try {
    await writeFile(path, generatePrivateKey().toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

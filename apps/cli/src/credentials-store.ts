import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RoleName } from '@meshgate/contracts';
import { CliError, ExitCode } from './exit-codes';

/** A password login: the token is re-asked for with the same email and tenant once it expires. */
export interface PasswordCredential {
  kind: 'password';
  email: string;
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** null: a user-level token (the user belonged to no tenant). */
  tenant: { id: string; name: string; role: RoleName } | null;
}

export interface ApiKeyCredential {
  kind: 'api-key';
  key: string;
}

export interface Credentials {
  server: string;
  credential: PasswordCredential | ApiKeyCredential;
}

const FILE = 'credentials.json';

/** `MESHGATE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/meshgate`, else `~/.config/meshgate`. */
export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.MESHGATE_CONFIG_DIR) return env.MESHGATE_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'meshgate');
}

/**
 * The login kept between runs: one JSON file, mode 0600, in a directory of mode 0700. A file others can read is
 * refused (as ssh refuses such a key): its token may have leaked.
 */
export class CredentialsStore {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, FILE);
  }

  read(): Credentials | null {
    let text: string;
    try {
      if ((statSync(this.path).mode & 0o077) !== 0) {
        throw new CliError(ExitCode.AUTH, `${this.path} is readable by others: remove it and log in again (meshgate login)`);
      }
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return JSON.parse(text) as Credentials;
    } catch {
      throw new CliError(ExitCode.AUTH, `${this.path} is not valid JSON: log in again (meshgate login)`);
    }
  }

  /** Written to a temp file created 0600 and renamed over the old one, so a reader never sees half a file. */
  write(credentials: Credentials): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const temp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(credentials, null, 2) + '\n');
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o600);
    renameSync(temp, this.path);
  }

  remove(): boolean {
    try {
      rmSync(this.path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

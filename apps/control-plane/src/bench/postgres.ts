/**
 * PostgreSQL for the benchmark: the superuser URL from BENCH_PG_ADMIN_URL when given (the bench then only creates and
 * drops its own databases), otherwise a throwaway cluster started here (initdb + pg_ctl in a temp dir, on a free
 * loopback port, as the `postgres` user when run as root) and removed at the end — the minimal part of
 * test/support/postgres.ts, which the build does not include. Unlike the tests' cluster this one keeps PostgreSQL's
 * durable defaults (fsync, full_page_writes, synchronous_commit on), so that its figures compare with SQLite's
 * synchronous=FULL.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './servers';

const run = promisify(execFile);

export interface BenchPostgres {
  /** Superuser URL (database `postgres`). */
  adminUrl: string;
  /** True when this process started the cluster. */
  started: boolean;
  /** Stops the cluster this process started and deletes its directory; a no-op otherwise. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * initdb, pg_ctl, postgres: PG_BIN, else /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/<n>/bin.
 * Shared with the tests' cluster (test/support/postgres.ts).
 */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  if (env.PG_BIN) candidates.push(env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    if (versions.includes('15')) candidates.push(join(root, '15', 'bin'));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null;
}

const isRoot = () => process.getuid?.() === 0;

/** argv running a PostgreSQL binary as `postgres` when we are root (the server refuses root), else as ourselves. */
export function asPostgres(command: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [command, args];
  if (existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser')) return ['runuser', ['-u', 'postgres', '--', command, ...args]];
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['su', ['postgres', '-s', '/bin/sh', '-c', quoted]];
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const given = process.env.BENCH_PG_ADMIN_URL;
  if (given) return { adminUrl: given, started: false, stop: async () => undefined };
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error('bench parts e, f and g need PostgreSQL: install it (Debian: apt-get install postgresql) or set BENCH_PG_ADMIN_URL to a superuser URL');
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-bench-pg-'));
  const dataDir = join(dir, 'data');
  const running = () => existsSync(join(dataDir, 'postmaster.pid'));
  const stopSync = () => {
    if (running()) {
      try {
        const [file, argv] = asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        execFileSync(file, argv, { stdio: 'ignore', timeout: 60_000 });
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  const pg = async (command: string, args: string[]) => {
    const [file, argv] = asPostgres(join(bin, command), args);
    await run(file, argv, { timeout: 120_000 });
  };
  try {
    if (isRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    // Loopback only, trust: a throwaway cluster nobody else can reach, gone when the bench ends.
    await pg('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        `-c port=${port}`, '-c listen_addresses=127.0.0.1', `-c unix_socket_directories=${dir}`,
        '-c max_connections=400', '-c shared_buffers=256MB', '-c max_wal_size=4GB',
      ].join(' ');
      try {
        await pg('pg_ctl', ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-s', '-o', settings, 'start']);
        break;
      } catch (error) {
        if (attempt >= 5) throw error; // the port may have been taken between choosing and binding it
      }
    }
    return {
      adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      started: true,
      async stop() {
        process.removeListener('exit', stopSync);
        if (running()) {
          await pg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'])
            .catch(() => pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined));
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopSync();
    process.removeListener('exit', stopSync);
    throw error;
  }
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database `meshgate_bench_<part>_<random>`; returns its URL (superuser credentials) and a drop function. */
export async function createBenchDatabase(adminUrl: string, part: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `meshgate_bench_${part}_${randomBytes(3).toString('hex')}`.replace(/[^a-z0-9_]/g, '_');
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

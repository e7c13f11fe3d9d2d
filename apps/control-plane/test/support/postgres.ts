import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { asPostgres, findPostgresBin } from '../../src/bench/postgres';
import { freePort } from '../../src/bench/servers';

/**
 * PostgreSQL for the tests.
 *
 * - In CI, `.ci/run` starts a throwaway cluster and exports both variables below; specs read them.
 * - On a developer machine with PostgreSQL installed (Debian: `apt-get install postgresql`), `startTestPostgres()`
 *   starts a throwaway cluster itself (initdb + pg_ctl in a temp dir, on a free port, as the `postgres` user when run
 *   as root, else as the current user) — from jest's globalSetup for the whole run, or from a spec's beforeAll.
 * - Otherwise `requirePostgres()` throws: a spec that needs PostgreSQL fails, it never skips.
 */
export const TEST_DATABASE_URL_ENV = 'MESHGATE_TEST_DATABASE_URL';
/** A superuser URL: tests create one database per spec file (and roles) with it. */
export const TEST_PG_ADMIN_URL_ENV = 'MESHGATE_TEST_PG_ADMIN_URL';

const run = promisify(execFile);

export interface TestPostgres {
  /** Superuser URL (database `postgres`). */
  adminUrl: string;
  /** URL of a database `meshgate_test` owned by the login role `meshgate_test`. */
  databaseUrl: string;
  /** True when this call started the cluster (and `stop()` removes it); false when the URLs came from the env. */
  started: boolean;
  /** Stops the cluster and deletes its directory (a no-op for a cluster from the env). Safe to call twice. */
  stop(): Promise<void>;
}

/** The superuser URL from the env; throws, saying how to get one, when there is none. */
export function requirePostgres(env: NodeJS.ProcessEnv = process.env): string {
  const url = env[TEST_PG_ADMIN_URL_ENV];
  if (url) return url;
  throw new Error(
    `This spec needs PostgreSQL, and ${TEST_PG_ADMIN_URL_ENV} is not set. Either run the tests through .ci/run (it ` +
      `starts PostgreSQL and sets ${TEST_PG_ADMIN_URL_ENV} and ${TEST_DATABASE_URL_ENV}), or install PostgreSQL 15 ` +
      `(Debian: apt-get install postgresql) so that startTestPostgres() in the jest globalSetup starts a throwaway ` +
      `cluster, or set ${TEST_PG_ADMIN_URL_ENV}=postgres://<superuser>:<password>@<host>:<port>/postgres yourself.`,
  );
}

/** The URLs from the env, when both are there. */
function fromEnv(env: NodeJS.ProcessEnv): TestPostgres | null {
  const adminUrl = env[TEST_PG_ADMIN_URL_ENV];
  const databaseUrl = env[TEST_DATABASE_URL_ENV];
  if (!adminUrl || !databaseUrl) return null;
  return { adminUrl, databaseUrl, started: false, stop: async () => undefined };
}

export { findPostgresBin };

async function asPostgresRun(command: string, args: string[]): Promise<void> {
  const [file, argv] = asPostgres(command, args);
  await run(file, argv, { timeout: 120_000 });
}

function asPostgresRunSync(command: string, args: string[]): void {
  const [file, argv] = asPostgres(command, args);
  execFileSync(file, argv, { stdio: 'ignore', timeout: 60_000 });
}

const secret = () => randomBytes(16).toString('hex');

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Parent of the cluster's temp dir; must be traversable by `postgres` (default /tmp). */
  parentDir?: string;
}

/**
 * The URLs from the env when `.ci/run` (or you) set them; otherwise a throwaway cluster started now, with a superuser
 * and a `meshgate_test` role and database. Throws when it cannot start one (no PostgreSQL installed, say).
 * The cluster is also stopped when this process exits, in case `stop()` is never reached.
 */
export async function startTestPostgres(options: StartOptions = {}): Promise<TestPostgres> {
  const env = options.env ?? process.env;
  const existing = fromEnv(env);
  if (existing) return existing;
  if (env[TEST_PG_ADMIN_URL_ENV] || env[TEST_DATABASE_URL_ENV]) {
    throw new Error(`Set both ${TEST_PG_ADMIN_URL_ENV} and ${TEST_DATABASE_URL_ENV}, or neither (a throwaway cluster is then started).`);
  }
  const bin = findPostgresBin(env);
  if (!bin) {
    throw new Error(
      `No PostgreSQL server under /usr/lib/postgresql/*/bin (or PG_BIN): install PostgreSQL 15 (Debian: apt-get ` +
        `install postgresql), or set ${TEST_PG_ADMIN_URL_ENV} and ${TEST_DATABASE_URL_ENV}.`,
    );
  }

  const dir = mkdtempSync(join(options.parentDir ?? '/tmp', 'meshgate-test-pg-'));
  const dataDir = join(dir, 'data');
  // A server counts as running while its pid file exists (also one still starting when pg_ctl gave up waiting).
  const running = () => existsSync(join(dataDir, 'postmaster.pid'));
  const stopSync = () => {
    if (running()) {
      try {
        asPostgresRunSync(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  try {
    const adminPassword = secret();
    const appPassword = secret();
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
      chownSync(pwfile, uid, gid);
    }
    await asPostgresRun(join(bin, 'initdb'), [
      '-D', dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '--auth-local=trust',
      '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync',
    ]);
    rmSync(pwfile);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        `-c port=${port}`, '-c listen_addresses=127.0.0.1', `-c unix_socket_directories=${dir}`,
        '-c max_connections=300', '-c fsync=off', '-c full_page_writes=off',
      ].join(' ');
      try {
        await asPostgresRun(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-s', '-o', settings, 'start']);
        break;
      } catch (error) {
        if (attempt >= 5) throw error; // the port may have been taken between choosing and binding it
      }
    }

    const adminUrl = `postgres://postgres:${adminPassword}@127.0.0.1:${port}/postgres`;
    const databaseUrl = await createAppRole(adminUrl, await createTestDatabase(adminUrl, 'meshgate_test'), 'meshgate_test', appPassword, { owner: true });
    return {
      adminUrl,
      databaseUrl,
      started: true,
      async stop() {
        process.removeListener('exit', stopSync);
        if (running()) {
          await asPostgresRun(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() =>
            asPostgresRun(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined),
          );
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

// --- jest globalSetup / globalTeardown ---------------------------------------------------------------------------
// Both run in jest's parent process (and the test files too, with --runInBand); the env set here reaches every test
// file, since workers and test environments are created after globalSetup.

const HANDLE = Symbol.for('meshgate.test-postgres');
type GlobalWithHandle = typeof globalThis & { [HANDLE]?: TestPostgres };

/**
 * For jest's `globalSetup`: without URLs in the env, starts a throwaway cluster and exports both URLs. When none can
 * be started it warns and returns, so specs that need PostgreSQL fail through requirePostgres() while the rest run.
 */
export async function globalSetup(): Promise<void> {
  if (fromEnv(process.env)) return;
  try {
    const pg = await startTestPostgres();
    (globalThis as GlobalWithHandle)[HANDLE] = pg;
    process.env[TEST_PG_ADMIN_URL_ENV] = pg.adminUrl;
    process.env[TEST_DATABASE_URL_ENV] = pg.databaseUrl;
  } catch (error) {
    console.warn(`No PostgreSQL for this test run; specs that need it will fail. ${(error as Error).message}`);
  }
}

/** For jest's `globalTeardown`: stops the cluster globalSetup started (nothing when the URLs came from the env). */
export async function globalTeardown(): Promise<void> {
  const holder = globalThis as GlobalWithHandle;
  const pg = holder[HANDLE];
  if (!pg) return;
  delete holder[HANDLE];
  delete process.env[TEST_PG_ADMIN_URL_ENV];
  delete process.env[TEST_DATABASE_URL_ENV];
  await pg.stop();
}

/** A module used directly as `globalSetup` must export a function; this is globalSetup (teardown also runs on exit). */
export default globalSetup;

// --- Databases and roles ---------------------------------------------------------------------------------------

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function checkIdentifier(kind: string, name: string): void {
  if (!IDENTIFIER.test(name)) throw new Error(`${kind} name "${name}" must match ${IDENTIFIER}`);
}

/** `url` with its database (path) replaced, and optionally its credentials. */
export function withDatabase(url: string, database: string, credentials?: { user: string; password: string }): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  if (credentials) {
    parsed.username = encodeURIComponent(credentials.user);
    parsed.password = encodeURIComponent(credentials.password);
  }
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A short unique database name for one spec file: `<prefix>_<pid>_<random>`. */
export function uniqueDatabaseName(prefix = 'meshgate'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
}

/**
 * A fresh, empty database (dropped first if it exists, with its connections); returns its URL with the admin's
 * credentials.
 */
export async function createTestDatabase(adminUrl: string, name: string): Promise<string> {
  checkIdentifier('database', name);
  await withClient(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  });
  return withDatabase(adminUrl, name);
}

/** Drops a database made by createTestDatabase (closing its connections); no error when it is gone already. */
export async function dropTestDatabase(adminUrl: string, name: string): Promise<void> {
  checkIdentifier('database', name);
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}

export interface AppRoleOptions {
  /** Make the role the owner of the database and of its `public` schema (for a role that runs migrations). */
  owner?: boolean;
}

/**
 * A login role (created, or its password reset when it exists: roles are cluster-wide) that may connect to `database`
 * and use its `public` schema. Table privileges are the caller's to grant (e.g. INSERT and SELECT, but no UPDATE or
 * DELETE, on `events`). `database` is a name or a URL from createTestDatabase. Returns the database's URL as that role.
 */
export async function createAppRole(
  adminUrl: string, database: string, role: string, password: string, options: AppRoleOptions = {},
): Promise<string> {
  const db = database.includes('://') ? decodeURIComponent(new URL(database).pathname.slice(1)) : database;
  checkIdentifier('database', db);
  checkIdentifier('role', role);
  await withClient(adminUrl, async (client) => {
    const r = client.escapeIdentifier(role);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    await client.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${r} LOGIN PASSWORD ${client.escapeLiteral(password)}`);
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${client.escapeIdentifier(db)} TO ${r}`);
    if (options.owner) await client.query(`ALTER DATABASE ${client.escapeIdentifier(db)} OWNER TO ${r}`);
  });
  await withClient(withDatabase(adminUrl, db), async (client) => {
    const r = client.escapeIdentifier(role);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${r}`);
    if (options.owner) await client.query(`ALTER SCHEMA public OWNER TO ${r}`);
  });
  return withDatabase(adminUrl, db, { user: role, password });
}

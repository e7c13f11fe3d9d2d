/**
 * The `meshgate` CLI end to end: the built CLI (`node dist/apps/cli/main.js`, as `npx meshgate` runs it) as a child
 * process against a real control plane on an ephemeral port with its own SQLite file, each run with a temp config
 * directory and answers on stdin — login and its credentials file, nodes, enrollment and API keys, the policy's
 * preview / confirm / If-Match, audit, topology, status, exit codes, completion scripts and --help everywhere.
 * `npm test` builds dist/ first; alone, run `npm run build` before this spec.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ApiKeyCreatedView, AuditPage, EnrollmentKeyCreated, EnrollmentKeyView, NodeView, PolicyView, TopologyPage } from '@meshgate/contracts';
import {
  client, createNode, PASSWORD, putPolicy, setupTenant, startServer, tagOwners, TenantSession, TestServer, wgKey,
} from '../../control-plane/test/support/server';

jest.setTimeout(60_000);

const MAIN = resolve(__dirname, '../../../dist/apps/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Written to stdin, which is then closed (closed at once without it). */
  input?: string;
  env?: Record<string, string>;
  /** The config directory (MESHGATE_CONFIG_DIR); the spec's default one unless given. */
  configDir?: string | null;
}

/** Every child process started, for afterAll to kill any still running after a failure. */
const children = new Set<import('node:child_process').ChildProcess>();

/** A running CLI with its stdin open: answer its questions once they are asked. */
function start(file: string, args: string[], env: Record<string, string>) {
  const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolveRun) => child.on('close', (code) => {
    children.delete(child);
    resolveRun({ code, stdout, stderr });
  }));
  return {
    child,
    done,
    output: () => stdout + stderr,
    /** Resolves once `text` appears on stdout or stderr (fails the test if the process ends first). */
    async waitFor(text: string): Promise<void> {
      const until = Date.now() + 20_000;
      while (!(stdout + stderr).includes(text)) {
        if (child.exitCode !== null || Date.now() > until) throw new Error(`never printed ${JSON.stringify(text)}:\n${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

describe('meshgate CLI', () => {
  let server: TestServer;
  let owner: TenantSession;
  let other: TenantSession;
  let dir: string;
  let configDir: string;
  let api: ReturnType<typeof client>;

  const envFor = (config: string | null, extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Nothing reaches the real home: ~/.config falls back under the temp dir.
    HOME: dir,
    ...(config !== null ? { MESHGATE_CONFIG_DIR: config } : {}),
    ...extra,
  });

  const meshgate = async (args: string[], options: RunOptions = {}): Promise<Run> => {
    const run = start(process.execPath, [MAIN, ...args], envFor(options.configDir === undefined ? configDir : options.configDir, options.env));
    run.child.stdin.end(options.input ?? '');
    return run.done;
  };
  const ok = async (args: string[], options: RunOptions = {}): Promise<string> => {
    const run = await meshgate(args, options);
    if (run.code !== 0) throw new Error(`meshgate ${args.join(' ')} exited ${run.code}:\n${run.stdout}${run.stderr}`);
    return run.stdout;
  };
  const json = async <T>(args: string[], options: RunOptions = {}): Promise<T> => JSON.parse(await ok(['--json', ...args], options)) as T;
  const credentialsFile = (config = configDir) => join(config, 'credentials.json');
  const storedToken = (config = configDir): string => {
    const stored = JSON.parse(readFileSync(credentialsFile(config), 'utf8'));
    return stored.credential.token ?? stored.credential.key;
  };
  const policyVersion = async (): Promise<number> => (await api<PolicyView>('GET', '/api/v1/policies', { token: owner.token })).body.version;
  const writePolicy = (name: string, document: unknown | string): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof document === 'string' ? document : JSON.stringify(document));
    return path;
  };

  const WEB_TO_DB = {
    tagOwners: tagOwners('web', 'db'),
    acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:5432'], proto: 'tcp' }],
    tests: [{ src: 'tag:web', accept: ['tag:db:5432'] }],
  };
  const NOTHING = { tagOwners: tagOwners('web', 'db'), acls: [] };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(join(tmpdir(), 'meshgate-cli-e2e-'));
    configDir = join(dir, 'config');
    server = await startServer();
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'acme');
    other = await setupTenant(server.baseUrl, 'globex');
    expect((await putPolicy(server.baseUrl, owner.token, WEB_TO_DB)).status).toBe(200);
    await createNode(server.baseUrl, owner.token, { name: 'web-1', tags: ['tag:web'], endpoint: '198.51.100.1:51820' });
    await createNode(server.baseUrl, owner.token, { name: 'db-1', tags: ['tag:db'], endpoint: '198.51.100.2:51820' });
    await createNode(server.baseUrl, owner.token, { name: 'spare' });
    await createNode(server.baseUrl, other.token, { name: 'globex-only' });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('before logging in', () => {
    it('answers --help on every command, with exit code 0', async () => {
      const paths = [
        [], ['login'], ['logout'], ['tenants'], ['nodes'], ['nodes', 'list'], ['nodes', 'show'], ['nodes', 'rm'], ['nodes', 'rename'], ['nodes', 'tags'],
        ['keys'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['api-keys'], ['api-keys', 'create'], ['api-keys', 'list'],
        ['api-keys', 'revoke'], ['policy'], ['policy', 'get'], ['policy', 'put'], ['policy', 'preview'], ['policy', 'test'],
        ['audit'], ['audit', 'reachability'], ['audit', 'access'], ['audit', 'timeline'], ['topology'], ['status'], ['completion'],
      ];
      const runs = await Promise.all(paths.map((path) => meshgate([...path, '--help'])));
      runs.forEach((run, i) => {
        expect({ path: paths[i], code: run.code }).toEqual({ path: paths[i], code: 0 });
        expect(run.stdout).toContain(`Usage: meshgate${paths[i].length ? ' ' + paths[i].join(' ') : ''}`);
      });
      expect(runs[0].stdout).toMatch(/Exit codes:[\s\S]*3 {2}authentication[\s\S]*7 {2}server unreachable/);
    });

    it('exits 2 on bad arguments and options, before sending anything', async () => {
      for (const args of [
        ['nodes', 'list', '--bogus'], ['nodes', 'show'], ['nodes'], ['frobnicate'], ['completion', 'fish'],
        ['keys', 'create', '--expires', 'soon'], ['audit', '--limit', '0'], ['login', '--server', 'ftp://example.com'],
        ['nodes', 'show', 'a', 'b'],
      ]) {
        const run = await meshgate(args);
        expect({ args, code: run.code }).toEqual({ args, code: 2 });
        expect(run.stderr).not.toBe('');
      }
    });

    it('exits 3 when not logged in, and 7 when the server cannot be reached', async () => {
      const run = await meshgate(['nodes', 'list']);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('not logged in');
      const unreachable = await meshgate(['status', '--server', 'http://127.0.0.1:1']);
      expect(unreachable.code).toBe(7);
      expect(unreachable.stderr).toContain('cannot reach http://127.0.0.1:1');
    });

    it('refuses a wrong password with exit 3 and keeps nothing', async () => {
      const run = await meshgate(['login', '--server', server.baseUrl, '--email', owner.email], { input: 'not the password\n' });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('invalid email or password');
      expect(existsSync(credentialsFile())).toBe(false);
    });
  });

  describe('logged in with a password', () => {
    beforeAll(async () => {
      const out = await ok(['login', '--server', `${server.baseUrl}/`, '--email', owner.email], { input: `${PASSWORD}\n` });
      expect(out).toContain(`as ${owner.email}, tenant acme (owner)`);
    });

    it('keeps the token in a 0600 file in a 0700 directory, and never prints it', async () => {
      expect(statSync(credentialsFile()).mode & 0o777).toBe(0o600);
      expect(statSync(configDir).mode & 0o777).toBe(0o700);
      const token = storedToken();
      expect(token.split('.')).toHaveLength(3);
      const outputs = await Promise.all([
        meshgate(['status']), meshgate(['--json', 'status']), meshgate(['tenants']), meshgate(['--json', 'tenants']),
      ]);
      for (const run of outputs) {
        expect(run.code).toBe(0);
        expect(run.stdout + run.stderr).not.toContain(token);
      }
    });

    it('keeps credentials under $XDG_CONFIG_HOME/meshgate without MESHGATE_CONFIG_DIR', async () => {
      const xdg = join(dir, 'xdg');
      await ok(['login', '--server', server.baseUrl, '--email', owner.email], { configDir: null, env: { XDG_CONFIG_HOME: xdg }, input: `${PASSWORD}\n` });
      expect(statSync(join(xdg, 'meshgate', 'credentials.json')).mode & 0o777).toBe(0o600);
      expect(await json<NodeView[]>(['nodes', 'list'], { configDir: null, env: { XDG_CONFIG_HOME: xdg } })).toHaveLength(3);
      expect(await ok(['logout'], { configDir: null, env: { XDG_CONFIG_HOME: xdg } })).toContain('Logged out.');
      expect(existsSync(join(xdg, 'meshgate', 'credentials.json'))).toBe(false);
    });

    it('lists the tenants, marking the current one', async () => {
      const tenants = await json<Array<{ name: string; role: string; current: boolean }>>(['tenants']);
      expect(tenants).toEqual([{ id: owner.tenantId, name: 'acme', role: 'owner', current: true }]);
      expect(await ok(['tenants'])).toMatch(/^\*\s+acme\s+owner\s+/m);
    });

    it('lists the nodes registered, as a table and as JSON, filtered by tag', async () => {
      const table = await ok(['nodes', 'list']);
      expect(table.split('\n')[0]).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+LAST SEEN\s+ENDPOINT\s+TAGS\s+OWNER\s+ID$/);
      expect(table).toMatch(new RegExp(`^web-1\\s+\\S+\\s+pending\\s+-\\s+198\\.51\\.100\\.1:51820\\s+tag:web\\s+${owner.email.replace(/[.+]/g, '\\$&')}`, 'm'));
      expect(table).not.toContain('globex-only');
      const listed = await json<NodeView[]>(['nodes', 'list']);
      const fromApi = (await api<NodeView[]>('GET', '/api/v1/nodes', { token: owner.token })).body;
      expect(listed.map((n) => n.name)).toEqual(['db-1', 'spare', 'web-1']);
      expect(new Set(listed.map((n) => n.id))).toEqual(new Set(fromApi.map((n) => n.id)));
      expect((await json<NodeView[]>(['nodes', 'list', '--tag', 'web'])).map((n) => n.name)).toEqual(['web-1']);
    });

    it('shows a node by name, and exits 4 for an unknown node or another tenant\'s', async () => {
      const shown = await json<NodeView>(['nodes', 'show', 'db-1']);
      expect(shown).toMatchObject({ name: 'db-1', tags: ['tag:db'], status: 'pending' });
      expect(await ok(['nodes', 'show', shown.id])).toMatch(/^name:\s+db-1$/m);
      for (const ref of ['no-such-node', 'globex-only', '00000000-0000-4000-8000-000000000000']) {
        const run = await meshgate(['nodes', 'show', ref]);
        expect({ ref, code: run.code }).toEqual({ ref, code: 4 });
        expect(run.stderr).toContain('node not found');
      }
    });

    it('shows and replaces a node\'s tags', async () => {
      expect((await ok(['nodes', 'tags', 'spare'])).trim()).toBe('(no tags)');
      expect(await json(['nodes', 'tags', 'spare', 'web', 'tag:db'])).toMatchObject({ name: 'spare', tags: ['tag:db', 'tag:web'] });
      expect((await api<NodeView>('GET', '/api/v1/nodes/spare', { token: owner.token })).body.tags).toEqual(['tag:db', 'tag:web']);
      expect((await ok(['nodes', 'tags', 'spare', '--clear'])).trim()).toBe('(no tags)');
      const refused = await meshgate(['nodes', 'tags', 'spare', 'tag:undeclared']);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('tag:undeclared');
    });

    it('renames a node, refusing a name another node has (exit 5: conflict)', async () => {
      expect(await json(['nodes', 'rename', 'spare', 'spare-2'])).toMatchObject({ name: 'spare-2' });
      expect((await api<NodeView>('GET', '/api/v1/nodes/spare-2', { token: owner.token })).status).toBe(200);
      expect((await ok(['nodes', 'rename', 'spare-2', 'spare'])).trim()).toBe('Renamed to spare.');
      const taken = await meshgate(['nodes', 'rename', 'spare', 'web-1']);
      expect(taken.code).toBe(5);
      expect(taken.stderr).toContain('name is already used');
    });

    it('creates, lists and revokes enrollment keys', async () => {
      const key = await json<EnrollmentKeyCreated>(['keys', 'create', '--reusable', '--tags', 'web', '--expires', '2h']);
      expect(key).toMatchObject({ reusable: true, tags: ['tag:web'], ephemeral: false });
      expect(Date.parse(key.expiresAt!) - Date.now()).toBeGreaterThan(7_000_000);
      const enrolled = await api('POST', '/api/v1/nodes', { token: key.key, body: { name: 'enrolled-1', publicKey: wgKey() } });
      expect(enrolled.status).toBe(201);
      const listed = await json<EnrollmentKeyView[]>(['keys', 'list']);
      expect(listed.find((k) => k.id === key.id)).toMatchObject({ uses: 1, revoked: false });
      expect(await ok(['keys', 'list'])).not.toContain(key.key);
      expect(await ok(['keys', 'revoke', key.id])).toContain(`Revoked enrollment key ${key.id}.`);
      expect((await json<EnrollmentKeyView[]>(['keys', 'list'])).some((k) => k.id === key.id)).toBe(false);
      expect((await json<EnrollmentKeyView[]>(['keys', 'list', '--all'])).find((k) => k.id === key.id)?.revoked).toBe(true);
      expect((await meshgate(['keys', 'revoke', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
      expect(await ok(['nodes', 'rm', 'enrolled-1', '--yes'])).toContain('Removed enrolled-1.');
    });

    it('removes a node only once confirmed', async () => {
      await createNode(server.baseUrl, owner.token, { name: 'doomed' });
      const declined = await meshgate(['nodes', 'rm', 'doomed'], { input: 'n\n' });
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain('Remove node doomed');
      expect((await api('GET', '/api/v1/nodes/doomed', { token: owner.token })).status).toBe(200);
      expect(await ok(['nodes', 'rm', 'doomed'], { input: 'y\n' })).toContain('Removed doomed.');
      expect((await api('GET', '/api/v1/nodes/doomed', { token: owner.token })).status).toBe(404);
      expect((await meshgate(['nodes', 'rm', 'doomed', '--yes'])).code).toBe(4);
    });

    describe('policy', () => {
      it('gets the policy as written, and as {version, policy} with --json', async () => {
        const hujson = '// web may reach the database\n{\n  "tagOwners": {"tag:web": ["autogroup:owner"], "tag:db": ["autogroup:owner"]},\n  "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"], "proto": "tcp"},],\n}\n';
        await ok(['policy', 'put', writePolicy('commented.hujson', hujson), '--yes']);
        expect(await ok(['policy', 'get'])).toBe(hujson);
        const view = await json<PolicyView>(['policy', 'get']);
        expect(view.version).toBe(await policyVersion());
        expect(view.policy).toMatchObject({ acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:5432'], proto: 'tcp' }] });
      });

      it('previews a candidate: the pairs it loses and the configs it changes, storing nothing', async () => {
        const before = await policyVersion();
        const out = await ok(['policy', 'preview', writePolicy('nothing.json', NOTHING)]);
        expect(out).toContain(`Against policy version ${before}:`);
        expect(out).toMatch(/^ {2}- web-1 -> db-1 {2}tcp:5432$/m);
        expect(out).toMatch(/^Configs that change \(2\): (db-1, web-1|web-1, db-1)$/m);
        const preview = await json<{ baseVersion: number; lost: unknown[] }>(['policy', 'preview', join(dir, 'nothing.json')]);
        expect(preview).toMatchObject({ baseVersion: before, lost: [{ src: 'web-1', dst: 'db-1', reach: 'tcp:5432' }] });
        expect(await policyVersion()).toBe(before);
      });

      it('shows failing tests in preview and test with exit 6, and passes the current policy\'s tests', async () => {
        const failing = writePolicy('failing.json', { ...NOTHING, tests: [{ src: 'tag:web', accept: ['tag:db:5432'] }] });
        for (const args of [['policy', 'preview', failing], ['policy', 'test', failing], ['policy', 'put', failing, '--yes']]) {
          const run = await meshgate(args);
          expect({ args, code: run.code }).toEqual({ args, code: 6 });
          expect(run.stderr).toContain('POLICY_TESTS_FAILED');
          expect(run.stderr).toContain('tests[0].accept[0]: tag:web (web-1) should reach tag:db:5432 (db-1) on tcp:5432, but may reach nothing');
        }
        expect(await ok(['policy', 'test', writePolicy('passing.json', WEB_TO_DB)])).toContain('All policy tests pass.');
        expect(await ok(['policy', 'test'])).toContain('All policy tests pass.');
        const invalid = await meshgate(['policy', 'preview', writePolicy('invalid.hujson', '{"acls": [{"action": "maybe"}]}')]);
        expect(invalid.code).toBe(6);
        expect(invalid.stderr).toContain('acls[0]');
      });

      it('put asks before applying: a no changes nothing, a yes applies with If-Match', async () => {
        const file = writePolicy('put-nothing.json', NOTHING);
        const before = await policyVersion();
        const declined = await meshgate(['policy', 'put', file], { input: 'n\n' });
        expect(declined.code).toBe(1);
        expect(declined.stdout).toMatch(/- web-1 -> db-1 {2}tcp:5432/);
        expect(declined.stderr).toContain(`Apply this policy (replacing version ${before})? [y/N]`);
        expect(await policyVersion()).toBe(before);
        const noAnswer = await meshgate(['policy', 'put', file]);
        expect(noAnswer.code).toBe(1);
        expect(await policyVersion()).toBe(before);

        const applied = await meshgate(['policy', 'put', file], { input: 'yes\n' });
        expect(applied.code).toBe(0);
        expect(applied.stdout).toContain(`Applied: policy version ${before + 1}.`);
        expect((await api<PolicyView>('GET', '/api/v1/policies', { token: owner.token })).body.policy).toEqual(NOTHING);
      });

      it('put --yes applies without asking, and --json reports preview and result', async () => {
        const before = await policyVersion();
        const result = await json<{ preview: { gained: unknown[] }; applied: { version: number } }>(
          ['policy', 'put', writePolicy('put-web.json', WEB_TO_DB), '--yes']);
        expect(result.applied.version).toBe(before + 1);
        expect(result.preview.gained).toEqual([{ src: 'web-1', dst: 'db-1', reach: 'tcp:5432' }]);
        const fromStdin = await meshgate(['policy', 'put', '-', '--yes'], { input: JSON.stringify(WEB_TO_DB) });
        expect(fromStdin.code).toBe(0);
        expect((await meshgate(['policy', 'put', '-'], { input: JSON.stringify(WEB_TO_DB) })).code).toBe(2);
      });

      it('put applies nothing, exit 5, when the policy changed between preview and answer', async () => {
        const run = start(process.execPath, [MAIN, 'policy', 'put', writePolicy('racing.json', NOTHING)], envFor(configDir));
        await run.waitFor('[y/N]');
        const changed = await putPolicy(server.baseUrl, owner.token, { ...WEB_TO_DB, tests: [] });
        expect(changed.status).toBe(200);
        run.child.stdin.end('y\n');
        const result = await run.done;
        expect(result.code).toBe(5);
        expect(result.stderr).toContain('412');
        expect((await api<PolicyView>('GET', '/api/v1/policies', { token: owner.token })).body.version).toBe(changed.body.version);
      });
    });

    it('lists the audit log with its filters', async () => {
      const page = await json<AuditPage>(['audit', '--type', 'NodeRegistered', '--limit', '2']);
      expect(page.items).toHaveLength(2);
      expect(page.items.every((e) => e.type === 'NodeRegistered')).toBe(true);
      expect(page.nextCursor).not.toBeNull();
      const next = await json<AuditPage>(['audit', '--type', 'NodeRegistered', '--limit', '2', '--cursor', page.nextCursor!]);
      expect(next.items[0].position).toBeLessThan(page.items[1].position);
      const table = await meshgate(['audit', '--type', 'PolicyUpdated', '--limit', '1']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(new RegExp(`^\\d+\\s+\\S+\\s+${owner.email.replace(/[.+]/g, '\\$&')}\\s+PolicyUpdated\\s`, 'm'));
      expect(table.stderr).toMatch(/More: meshgate audit --cursor \d+/);
      const bad = await meshgate(['audit', '--since', 'last tuesday']);
      expect(bad.code).toBe(6);
      expect(bad.stderr).toContain('since');
    });

    it('shows the topology: nodes and the peering web-1 may use to reach db-1', async () => {
      const page = await json<TopologyPage>(['topology', '--all']);
      expect(page.nodes.map((n) => n.name).sort()).toEqual(['db-1', 'spare', 'web-1']);
      const edge = page.edges.find((e) => [e.a.name, e.b.name].sort().join() === 'db-1,web-1');
      expect(edge).toBeDefined();
      expect((edge!.a.name === 'web-1' ? edge!.a : edge!.b).reach).toBe('tcp:5432');
      expect(await ok(['topology'])).toMatch(/^(web-1 <-> db-1|db-1 <-> web-1)\s+unknown\s/m);
      expect((await json<TopologyPage>(['topology', '--node', 'spare'])).edges).toEqual([]);
    });

    it('answers the audit time machine\'s questions: reachability, access and timeline at past instants', async () => {
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const at = new Date().toISOString();
      const answer = await json<{ allowed: boolean; decision: { kind: string; index?: number } }>(
        ['audit', 'reachability', 'web-1', 'db-1', '--at', at, '--port', '5432']);
      expect(answer).toMatchObject({ allowed: true, decision: { kind: 'rule', index: 0 } });
      const human = await ok(['audit', 'reachability', 'web-1', 'db-1', '--at', at, '--port', '5432']);
      expect(human).toMatch(/^ALLOWED: web-1 -> db-1 \(tcp:5432\) at /m);
      expect(human).toMatch(/^decided by: acls\[0\] of policy version \d+ \(accept\)/m);
      expect(human).toMatch(/PolicyUpdated/);
      expect(await ok(['audit', 'reachability', 'db-1', 'web-1', '--at', at, '--port', '22'])).toMatch(/^DENIED: db-1 -> web-1/m);
      const access = await json<{ nodes: Array<{ node: { name: string } }> }>(['audit', 'access', '--at', at, '--to', 'db-1']);
      expect(access.nodes.map((n) => n.node.name)).toEqual(['web-1']);
      const timeline = await json<{ intervals: unknown[] }>(['audit', 'timeline', 'web-1', 'db-1', '--from', from, '--to', at]);
      expect(timeline.intervals.length).toBeGreaterThan(0);
      expect(await ok(['audit', 'timeline', 'web-1', 'db-1', '--from', from, '--to', at])).toMatch(/^FROM\s+TO\s+REACH\s+OPENED BY\s+CLOSED BY$/m);
      expect((await meshgate(['audit', 'access', '--at', at])).code).toBe(2);
      expect((await meshgate(['audit', 'reachability', 'web-1', 'no-such-node', '--at', at])).code).toBe(4);
    });

    it('reports status: health, versions, session and counts', async () => {
      const status = await json<{ health: { status: string; version: string }; cliVersion: string; nodes: { total: number; pending: number }; policyVersion: number }>(['status']);
      const version = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')).version;
      expect(status).toMatchObject({ cliVersion: version, health: { status: 'ok', version }, nodes: { total: 3, pending: 3 }, policyVersion: await policyVersion() });
      const human = await ok(['status']);
      expect(human).toMatch(/^health:\s+ok \(database ok, storage ok\)$/m);
      expect(human).toMatch(new RegExp(`^session:\\s+${owner.email.replace(/[.+]/g, '\\$&')}, tenant acme \\(owner\\), expires in \\d+m$`, 'm'));
      expect(human).toMatch(/^nodes:\s+3 \(0 online, 0 offline, 3 pending, 0 with an expired key\)$/m);
    });

    it('asks for the password again at a terminal once the session has expired, and exits 3 elsewhere', async () => {
      const stored = JSON.parse(readFileSync(credentialsFile(), 'utf8'));
      writeFileSync(credentialsFile(), JSON.stringify({ ...stored, credential: { ...stored.credential, expiresAt: 0 } }), { mode: 0o600 });
      const piped = await meshgate(['nodes', 'list']);
      expect(piped.code).toBe(3);
      expect(piped.stderr).toContain('the session expired: log in again (meshgate login)');

      // util-linux `script` gives the CLI a terminal: the question, an answer typed without echo, the renewed session kept.
      const tty = start('script', ['-qefc', `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} nodes list`, '/dev/null'], envFor(configDir));
      await tty.waitFor(`the session expired. Password for ${owner.email}: `);
      tty.child.stdin.write(`${PASSWORD}\r`);
      await tty.waitFor('web-1');
      tty.child.stdin.end();
      const result = await tty.done;
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(PASSWORD);
      const renewed = JSON.parse(readFileSync(credentialsFile(), 'utf8'));
      expect(renewed.credential.expiresAt).toBeGreaterThan(Date.now());
      expect(renewed.credential.tenant).toEqual(stored.credential.tenant);
      expect(statSync(credentialsFile()).mode & 0o777).toBe(0o600);
      expect(await json<NodeView[]>(['nodes', 'list'])).toHaveLength(3);
    });

    it('exits 3 when the server refuses the stored token, and refuses a credentials file others can read', async () => {
      const copy = join(dir, 'tampered');
      await ok(['login', '--server', server.baseUrl, '--email', owner.email], { configDir: copy, input: `${PASSWORD}\n` });
      const stored = JSON.parse(readFileSync(credentialsFile(copy), 'utf8'));
      writeFileSync(credentialsFile(copy), JSON.stringify({ ...stored, credential: { ...stored.credential, token: `${stored.credential.token}x` } }), { mode: 0o600 });
      const refused = await meshgate(['nodes', 'list'], { configDir: copy });
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('the server refused the session: log in again');
      writeFileSync(credentialsFile(copy), JSON.stringify(stored));
      chmodSync(credentialsFile(copy), 0o644);
      const exposed = await meshgate(['nodes', 'list'], { configDir: copy });
      expect(exposed.code).toBe(3);
      expect(exposed.stderr).toContain('is readable by others');
    });
  });

  describe('logged in with an API key', () => {
    let apiKey: ApiKeyCreatedView;
    const keyConfig = () => join(dir, 'api-key');

    beforeAll(async () => {
      apiKey = await json<ApiKeyCreatedView>(['api-keys', 'create', '--description', 'ci deploys', '--role', 'admin', '--expires-in-days', '7']);
      expect(apiKey.key).toMatch(/^mga\./);
      const out = await ok(['login', '--server', server.baseUrl, '--api-key'], { configDir: keyConfig(), input: `${apiKey.key}\n` });
      expect(out).toContain(`with API key ${apiKey.id}`);
      expect(out).not.toContain(apiKey.key);
    });

    it('acts in its tenant with its role, lists as a key, and cannot list memberships', async () => {
      expect((await json<NodeView[]>(['nodes', 'list'], { configDir: keyConfig() })).map((n) => n.name)).toEqual(['db-1', 'spare', 'web-1']);
      const listed = await json<Array<{ id: string; description: string; role: string }>>(['api-keys', 'list'], { configDir: keyConfig() });
      expect(listed.find((k) => k.id === apiKey.id)).toMatchObject({ description: 'ci deploys', role: 'admin' });
      expect(await ok(['api-keys', 'list'], { configDir: keyConfig() })).not.toContain(apiKey.key);
      const tenants = await meshgate(['tenants'], { configDir: keyConfig() });
      expect(tenants.code).toBe(3);
      const refused = await meshgate(['api-keys', 'create', '--description', 'x', '--role', 'emperor'], { configDir: keyConfig() });
      expect(refused.code).toBe(6);
      expect(refused.stderr).toContain('role');
    });

    it('exits 3 once the key is revoked', async () => {
      expect(await ok(['api-keys', 'revoke', apiKey.id])).toContain(`Revoked API key ${apiKey.id}.`);
      const run = await meshgate(['nodes', 'list'], { configDir: keyConfig() });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('the API key was refused');
      const wrong = await meshgate(['login', '--server', server.baseUrl, '--api-key'], { configDir: join(dir, 'bad-key'), input: 'mga.nope.nope\n' });
      expect(wrong.code).toBe(3);
      expect(existsSync(join(dir, 'bad-key', 'credentials.json'))).toBe(false);
    });
  });

  describe('completion', () => {
    it('prints a bash script that bash accepts and that completes subcommands, options and choices', async () => {
      const script = await ok(['completion', 'bash']);
      const path = join(dir, 'meshgate.bash');
      writeFileSync(path, script);
      const check = start('bash', ['-n', path], envFor(null));
      check.child.stdin.end();
      expect((await check.done).code).toBe(0);
      const complete = (...words: string[]) => {
        const line = `source ${JSON.stringify(path)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _meshgate; printf '%s\\n' "\${COMPREPLY[@]}"`;
        const run = start('bash', ['-c', line], envFor(null));
        run.child.stdin.end();
        return run.done.then((r) => r.stdout.split('\n').filter(Boolean));
      };
      expect(await complete('meshgate', '')).toEqual(expect.arrayContaining(['login', 'nodes', 'keys', 'policy', 'audit', 'topology', 'status', 'completion']));
      expect(await complete('meshgate', 'nodes', '')).toEqual(expect.arrayContaining(['list', 'show', 'rm', 'tags', '--json', '--help']));
      expect(await complete('meshgate', '--json', 'policy', 'p')).toEqual(['preview', 'put']);
      expect(await complete('meshgate', 'completion', '')).toEqual(expect.arrayContaining(['bash', 'zsh']));
      expect(await complete('meshgate', 'login', '--server', 'nodes', '--e')).toEqual(['--email']);
      expect(await complete('meshgate', 'login', '--server', '')).toEqual([]);
    });

    it('prints a zsh script for compdef and $fpath', async () => {
      const script = await ok(['completion', 'zsh']);
      expect(script.startsWith('#compdef meshgate\n')).toBe(true);
      expect(script).toContain("'/nodes') subcommands=('list:the tenant'\\''s nodes'");
      expect(script).toContain("'/policy/put') _files; compadd -- '--yes' '--json' '--help'");
      expect(script).toContain('compdef _meshgate meshgate');
    });
  });
});

import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointMessage, CHECKPOINT_STREAM } from '@meshgate/domain';
import type { CheckpointPage, MemberView } from '@meshgate/contracts';
import { keyIdOf, signText } from '../src/audit/checkpoint-signature';
import { SqlEventStore } from '../src/event-store/sql-event-store';
import { chainHash } from '../src/event-store/hash-chain';
import type { HashedEvent } from '../src/event-store/event-store.port';
import { SqliteDatabase } from '../src/storage/sqlite/sqlite-database';
import {
  addMember, ALLOW_ALL, client, createNode, eventually, putPolicy, setupTenant, startServer, StoreKind, TestServer,
} from './support/server';
import { SseClient } from './support/sse';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');
const VERIFY = join(ROOT, 'dist', 'apps', 'control-plane', 'verify.js');

interface Run { code: number; stdout: string; stderr: string }

/** `npm run verify -- …` as a process of its own, with no database in reach (`npm test` builds dist/ first). */
function verify(...args: string[]): Promise<Run> {
  if (!existsSync(VERIFY)) throw new Error(`${VERIFY} is missing: run \`npm run build\` first`);
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY, ...args], { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The position (and the first it may be) and the line a TAMPERED verdict names. */
function named(run: Run): { position: number; from: number; line: number } {
  const match = /TAMPERED at position (\d+)(?: \(the change may be anywhere in (\d+)\.\.\d+\))? \(line (\d+)\)/.exec(run.stdout);
  if (!match) throw new Error(`no position named: ${run.code} ${run.stdout} ${run.stderr}`);
  return { position: Number(match[1]), from: Number(match[2] ?? match[1]), line: Number(match[3]) };
}

const lineOf = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

/** Two tenants with nodes (their registrations carry token hashes), members, a policy and an API key each. */
async function populate(server: TestServer) {
  const api = client(server);
  const acme = await setupTenant(server.baseUrl, 'acme');
  const globex = await setupTenant(server.baseUrl, 'globex');
  const roles = {
    admin: await addMember(server.baseUrl, acme, 'admin'),
    auditor: await addMember(server.baseUrl, acme, 'auditor'),
    member: await addMember(server.baseUrl, acme, 'member'),
    globexAuditor: await addMember(server.baseUrl, globex, 'auditor'),
  };
  const acmeNode = await createNode(server.baseUrl, acme.token, { name: 'acme-db-1' });
  await createNode(server.baseUrl, acme.token, { name: 'acme-web-1' });
  await createNode(server.baseUrl, globex.token, { name: 'globex-secret-host' });
  expect((await putPolicy(server.baseUrl, acme.token, ALLOW_ALL)).status).toBe(200);
  expect((await putPolicy(server.baseUrl, globex.token, ALLOW_ALL)).status).toBe(200);
  const apiKey = await api('POST', '/api/v1/api-keys', { token: acme.token, body: { description: 'siem', role: 'auditor' } });
  expect(apiKey.status).toBe(201);
  return { acme, globex, roles, acmeNode, auditorKey: apiKey.body.key as string };
}

async function checkpointsOf(server: TestServer, token: string): Promise<CheckpointPage> {
  const reply = await client(server)<CheckpointPage>('GET', '/api/v1/audit/checkpoints', { token });
  expect(reply.status).toBe(200);
  return reply.body;
}

describe.each<StoreKind>(['sqlite', 'postgres'])('signed checkpoints, the export and its live tail on %s', (store) => {
  let server: TestServer;
  let world: Awaited<ReturnType<typeof populate>>;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    server = await startServer({ CHECKPOINT_EVERY_EVENTS: '10' }, { store });
    world = await populate(server);
    await eventually(async () => (await checkpointsOf(server, world.acme.token)).items.length >= 2, 10_000, 'two checkpoints');
  });

  afterAll(async () => {
    for (const s of streams) await s.close();
    await server?.dispose();
  });

  it('signs checkpoints of the head with the key it serves, and every replica of the log shows them', async () => {
    const api = client(server);
    const key = await api('GET', '/api/v1/audit/checkpoints/key', { token: world.roles.auditor });
    expect(key.status).toBe(200);
    expect(key.headers.get('content-type')).toContain('application/x-pem-file');
    expect(key.text).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    const { items } = await checkpointsOf(server, world.acme.token);
    for (const item of items) {
      expect(item.position).toBeLessThan(item.eventPosition);
      expect(item.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // Newest first, paged by the cursor.
    const first = await api<CheckpointPage>('GET', '/api/v1/audit/checkpoints?limit=1', { token: world.acme.token });
    expect(first.body.items).toEqual([items[0]]);
    const second = await api<CheckpointPage>('GET', `/api/v1/audit/checkpoints?limit=1&cursor=${first.body.nextCursor}`, { token: world.acme.token });
    expect(second.body.items).toEqual([items[1]]);
    // The checkpoint's hash is the log's at the position it signs.
    const exported = lineOf((await api('GET', '/api/v1/audit/export', { token: world.acme.token })).text);
    expect(exported.find((l) => l.position === items[1].position)?.hash).toBe(items[1].hash);
    expect(exported.filter((l) => l.streamId === CHECKPOINT_STREAM).length).toBeGreaterThanOrEqual(2);
  });

  it("exports a tenant's log as JSON lines the verifier passes, with other tenants' events and every secret left out", async () => {
    const api = client(server);
    const keyFile = join(server.dir, `key-${store}.pem`);
    writeFileSync(keyFile, (await api('GET', '/api/v1/audit/checkpoints/key', { token: world.acme.token })).text);
    for (const [tenant, token, foreign] of [['acme', world.roles.auditor, 'globex-secret-host'], ['globex', world.roles.globexAuditor, 'acme-db-1']] as const) {
      const reply = await api('GET', '/api/v1/audit/export', { token });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toContain('application/x-ndjson');
      const lines = lineOf(reply.text);
      expect(reply.text).not.toContain(foreign);
      expect(reply.text).not.toMatch(/"(passwordHash|tokenHash|secretHash)":|\$argon2/);
      const tenantId = tenant === 'acme' ? world.acme.tenantId : world.globex.tenantId;
      for (const line of lines) {
        if (line.kind === 'event' || line.kind === 'redacted') expect([tenantId, null]).toContain(line.tenantId);
        if (line.tenantId === null && line.kind !== 'hash') expect(line.streamId).toBe(CHECKPOINT_STREAM);
      }
      expect(lines.find((l) => l.type === 'NodeRegistered')).toMatchObject({ kind: 'redacted', redacted: ['tokenHash'] });
      expect(lines[lines.length - 1]).toMatchObject({ kind: 'end', tenantId });
      const file = join(server.dir, `${tenant}-${store}.jsonl`);
      writeFileSync(file, reply.text);
      const run = await verify('--log', file, '--key', keyFile);
      expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^INTACT: positions 1\.\./) });
    }
  });

  it('tails the export live over SSE and resumes after Last-Event-ID', async () => {
    const url = `${server.baseUrl}/api/v1/audit/stream`;
    const live = await SseClient.connect(url, world.roles.auditor);
    streams.push(live);
    expect(live.status).toBe(200);
    expect(live.contentType).toContain('text/event-stream');
    await live.waitForComment((c) => c === 'audit stream');
    await createNode(server.baseUrl, world.globex.token, { name: 'globex-live' });
    const first = await createNode(server.baseUrl, world.acme.token, { name: 'acme-live-1' });
    const registered = await live.waitFor((f) => f.data?.type === 'NodeRegistered' && f.data.data.nodeId === first.id, 10_000);
    expect(registered).toMatchObject({ event: 'redacted', id: String(registered.data.position) });
    // The other tenant's registration came before, as a run of hashes only.
    const hidden = live.frames.filter((f) => f.event === 'hash');
    expect(hidden.length).toBeGreaterThan(0);
    expect(JSON.stringify(live.frames)).not.toContain('globex-live');
    await live.close();

    const missed = await createNode(server.baseUrl, world.acme.token, { name: 'acme-live-2' });
    const resumed = await SseClient.connect(url, world.roles.auditor, registered.id);
    streams.push(resumed);
    const again = await resumed.waitFor((f) => f.data?.type === 'NodeRegistered', 10_000);
    expect(again.data.data.nodeId).toBe(missed.id);
    expect(resumed.frames[0]).toMatchObject({ event: 'start', id: registered.id, data: { hash: registered.data.hash } });
    expect(resumed.frames.some((f) => Number(f.id) <= Number(registered.id) && f.event !== 'start')).toBe(false);

    // The stream outlives the request that was checked: it ends once its reader may no longer read the log.
    const api = client(server);
    const members = await api<MemberView[]>('GET', '/api/v1/tenants/current/members', { token: world.acme.token });
    const auditor = members.body.find((m) => m.role === 'auditor')!;
    const demoted = await api('PATCH', `/api/v1/tenants/current/members/${auditor.userId}`, { token: world.acme.token, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    await resumed.waitForEnd(10_000);
  });
});

describe('tampering with an exported log, on SQLite', () => {
  let server: TestServer;
  let world: Awaited<ReturnType<typeof populate>>;
  let keyFile: string;
  const api = () => client(server);

  beforeAll(async () => {
    server = await startServer({ CHECKPOINT_EVERY_EVENTS: '10' });
    world = await populate(server);
    await eventually(async () => (await checkpointsOf(server, world.acme.token)).items.length >= 2, 10_000, 'two checkpoints');
    keyFile = join(server.dir, 'key.pem');
    writeFileSync(keyFile, (await api()('GET', '/api/v1/audit/checkpoints/key', { token: world.acme.token })).text);
  });

  afterAll(async () => {
    await server?.dispose();
  });

  const exportFile = async (name: string, token = world.acme.token, from?: number): Promise<{ file: string; text: string }> => {
    const reply = await api()('GET', `/api/v1/audit/export${from === undefined ? '' : `?from=${from}`}`, { token });
    expect(reply.status).toBe(200);
    const file = join(server.dir, name);
    writeFileSync(file, reply.text);
    return { file, text: reply.text };
  };

  it('keeps the generated signing key in the data directory, readable by its owner only', () => {
    const file = join(server.dir, 'checkpoint-key.pem');
    expect(readFileSync(file, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('finds a flipped byte in any kind of line, naming its position', async () => {
    const { text } = await exportFile('flip-base.jsonl');
    const lines = text.trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l));
    const pick = (predicate: (l: Record<string, any>) => boolean) => parsed.findIndex(predicate);
    const targets = {
      event: pick((l) => l.kind === 'event' && l.type === 'MemberAdded'),
      hash: pick((l) => l.kind === 'hash' && l.from > 1),
      redacted: pick((l) => l.kind === 'redacted'),
      checkpoint: pick((l) => l.streamId === CHECKPOINT_STREAM),
      end: lines.length - 1,
    };
    for (const [what, index] of Object.entries(targets)) {
      expect(index).toBeGreaterThanOrEqual(0);
      const line = parsed[index];
      const offset = text.indexOf(lines[index]) + Math.floor(lines[index].length / 2);
      const bytes = Buffer.from(text);
      bytes[offset] ^= 0x01;
      const file = join(server.dir, `flip-${what}.jsonl`);
      writeFileSync(file, bytes);
      const run = await verify('--log', file, '--key', keyFile);
      expect({ what, code: run.code }).toEqual({ what, code: 1 });
      const bad = named(run);
      const first = line.kind === 'hash' ? line.from : line.position;
      // The flipped line itself, or (what follows a run of hidden events) a range of positions that holds it.
      const holds = bad.line === index + 1 || (bad.from <= line.position && bad.position >= first);
      if (!holds) throw new Error(`${what}: ${run.stdout} for ${lines[index]}`);
    }
  });

  it('reports a log cut off, or ending before a checkpoint kept outside, as truncated', async () => {
    const early = await exportFile('early.jsonl');
    const lines = early.text.trimEnd().split('\n');
    writeFileSync(join(server.dir, 'no-end.jsonl'), lines.slice(0, -3).join('\n') + '\n');
    writeFileSync(join(server.dir, 'cut.jsonl'), early.text.slice(0, early.text.length - 40));
    const noEnd = await verify('--log', join(server.dir, 'no-end.jsonl'), '--key', keyFile);
    expect(noEnd).toMatchObject({ code: 3, stdout: expect.stringContaining('TRUNCATED: no end line') });
    const cut = await verify('--log', join(server.dir, 'cut.jsonl'), '--key', keyFile);
    expect(cut).toMatchObject({ code: 3, stdout: expect.stringContaining('cut off') });

    // Later checkpoints: the early export ends before them.
    const before = (await checkpointsOf(server, world.acme.token)).items[0].eventPosition;
    for (let i = 0; i < 11; i++) await createNode(server.baseUrl, world.acme.token, { name: `acme-later-${i}` });
    const later = await eventually(async () => (await checkpointsOf(server, world.acme.token)).items.find((c) => c.eventPosition > before), 10_000, 'a later checkpoint');
    const beyond = await verify('--log', early.file, '--key', keyFile, '--checkpoint', `${later.position}:${later.hash}`);
    expect(beyond).toMatchObject({ code: 3, stdout: expect.stringContaining(`before the checkpoint given at ${later.position}`) });

    // Resumed from where the early export ended, both verify, alone and appended to each other.
    const end = JSON.parse(lines[lines.length - 1]);
    const rest = await exportFile('rest.jsonl', world.acme.token, end.position);
    expect((await verify('--log', rest.file, '--key', keyFile)).code).toBe(0);
    writeFileSync(join(server.dir, 'both.jsonl'), early.text + rest.text);
    const both = await verify('--log', join(server.dir, 'both.jsonl'), '--key', keyFile, '--checkpoint', `${later.position}:${later.hash}`);
    expect(both).toMatchObject({ code: 0, stdout: expect.stringContaining(`outside checkpoints matched at ${later.position}`) });
  });

  it('fails a log rewritten with a recomputed chain: by its checkpoints, or (re-signed with the stolen key) by one kept outside', async () => {
    const kept = (await checkpointsOf(server, world.acme.token)).items[0];
    await server.stop();
    const rename = (data: any) => ({ ...data, name: 'acme-rewritten' });
    await rewriteLog(server.databasePath, (e) => e.type === 'TenantCreated' && e.tenantId === world.acme.tenantId, rename, null);
    await server.restart();
    const plain = await exportFile('rewritten.jsonl');
    expect(plain.text).toContain('acme-rewritten');
    const unsigned = await verify('--log', plain.file, '--key', keyFile);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toMatch(/TAMPERED at position \d+.*not the one the checkpoint at \d+ signed/);

    // Whoever can read the data directory can sign too: only a checkpoint kept elsewhere tells.
    await server.stop();
    const stolen = createPrivateKey(readFileSync(join(server.dir, 'checkpoint-key.pem'), 'utf8'));
    await rewriteLog(server.databasePath, (e) => e.type === 'TenantCreated' && e.tenantId === world.acme.tenantId, rename, stolen);
    await server.restart();
    const resigned = await exportFile('resigned.jsonl');
    expect((await verify('--log', resigned.file, '--key', keyFile)).code).toBe(0);
    const outside = await verify('--log', resigned.file, '--key', keyFile, '--checkpoint', `${kept.position}:${kept.hash}`);
    expect(outside.code).toBe(1);
    expect(named(outside).position).toBe(kept.position);
    expect(outside.stdout).toContain('given from outside');
  });

  it('answers a bad from, Last-Event-ID or page with 400 naming it', async () => {
    const head = lineOf((await api()('GET', '/api/v1/audit/export', { token: world.acme.token })).text).pop()!.position;
    for (const from of ['-1', 'abc', '1.5', '', String(head + 1), '9999999999999999']) {
      const reply = await api()('GET', `/api/v1/audit/export?from=${encodeURIComponent(from)}`, { token: world.acme.token });
      expect({ from, status: reply.status }).toEqual({ from, status: 400 });
      expect(JSON.stringify(reply.body)).toContain('from');
    }
    const unknown = await api()('GET', '/api/v1/audit/export?from=1&to=2', { token: world.acme.token });
    expect(unknown.status).toBe(400);
    const stream = await SseClient.connect(`${server.baseUrl}/api/v1/audit/stream`, world.acme.token, 'x1');
    expect(stream.status).toBe(400);
    const beyond = await SseClient.connect(`${server.baseUrl}/api/v1/audit/stream`, world.acme.token, head + 1000);
    expect(beyond.status).toBe(400);
    for (const q of ['limit=0', 'limit=501', 'cursor=abc']) {
      expect((await api()('GET', `/api/v1/audit/checkpoints?${q}`, { token: world.acme.token })).status).toBe(400);
    }
  });

  it('lets owners, admins and auditors (and their API keys) read the evidence, and no one else', async () => {
    const paths = ['/api/v1/audit/export', '/api/v1/audit/checkpoints', '/api/v1/audit/checkpoints/key'];
    const allowed: [string, string][] = [['owner', world.acme.token], ['admin', world.roles.admin], ['auditor', world.roles.auditor], ['api key', world.auditorKey]];
    const refused: [string, string | undefined, number][] = [
      ['member', world.roles.member, 403], ['node', world.acmeNode.nodeToken, 403], ['unscoped user', world.acme.userToken, 403], ['nobody', undefined, 401],
    ];
    for (const path of paths) {
      for (const [who, token] of allowed) expect({ who, path, status: (await api()('GET', path, { token })).status }).toEqual({ who, path, status: 200 });
      for (const [who, token, status] of refused) expect({ who, path, status: (await api()('GET', path, { token })).status }).toEqual({ who, path, status });
    }
    for (const [who, token, status] of refused) {
      const stream = await SseClient.connect(`${server.baseUrl}/api/v1/audit/stream`, token ?? '', undefined);
      expect({ who, status: stream.status }).toEqual({ who, status });
    }
  });
});

/**
 * What someone with write access to the database file does: change an event, recompute every hash after it (and, with
 * the signing key, re-sign every checkpoint after it), past the append-only triggers.
 */
async function rewriteLog(databasePath: string, target: (e: HashedEvent) => boolean, change: (data: unknown) => unknown, key: ReturnType<typeof createPrivateKey> | null): Promise<void> {
  const db = await SqliteDatabase.open(databasePath);
  try {
    const events: HashedEvent[] = [];
    for await (const page of new SqlEventStore(db).readHashedPages(0)) events.push(...page);
    const hashes = new Map<number, string>();
    let previous = '0'.repeat(64);
    let rewriting = false;
    const updates: [string, string, number][] = [];
    for (const event of events) {
      const { hash, ...fields } = event;
      if (target(event)) {
        rewriting = true;
        fields.data = change(fields.data);
      } else if (rewriting && key && event.streamId === CHECKPOINT_STREAM) {
        const signed = (fields.data as { position: number }).position;
        const signedHash = hashes.get(signed)!;
        fields.data = { position: signed, hash: signedHash, keyId: keyIdOf(key), signature: signText(key, checkpointMessage(signed, signedHash)) };
      }
      const next = rewriting ? chainHash(previous, fields) : hash;
      if (rewriting) updates.push([JSON.stringify(fields.data), next, event.position]);
      hashes.set(event.position, next);
      previous = next;
    }
    await db.transaction(async (tx) => {
      await tx.execute('DROP TRIGGER events_no_update');
      for (const [data, hash, position] of updates) {
        await tx.execute('UPDATE events SET data = ?, hash = ? WHERE position = ?', [data, Buffer.from(hash, 'hex'), position]);
      }
      await tx.execute('UPDATE chain_head SET hash = ? WHERE id = 1', [Buffer.from(previous, 'hex')]);
      await tx.execute(`CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`);
    });
  } finally {
    await db.close();
  }
}

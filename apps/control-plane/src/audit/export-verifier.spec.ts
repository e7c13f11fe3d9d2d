import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { CHECKPOINT_STREAM, checkpointMessage } from '@meshgate/domain';
import type { HashedEvent } from '../event-store/event-store.port';
import { chainHash, GENESIS_HASH } from '../event-store/hash-chain';
import { keyIdOf, signText } from './checkpoint-signature';
import { ExportLines } from './export-lines';
import { ExportVerifier, Verdict } from './export-verifier';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const NODE_A = 'node-aaaaaaaa-0000-4000-8000-00000000000a';
const NODE_B = 'node-bbbbbbbb-0000-4000-8000-00000000000b';

interface Spec { tenantId: string | null; streamId: string; type: string; data: unknown; checkpoint?: number }

/** A log as the store holds it: each event's hash chained from the one before; `checkpoint` signs that position. */
function buildLog(specs: Spec[], key: KeyObject): HashedEvent[] {
  const log: HashedEvent[] = [];
  const versions = new Map<string, number>();
  const hashAt = (p: number) => (p === 0 ? GENESIS_HASH : log[p - 1].hash);
  for (const spec of specs) {
    const position = log.length + 1;
    const streamVersion = (versions.get(spec.streamId) ?? 0) + 1;
    versions.set(spec.streamId, streamVersion);
    const data = spec.checkpoint === undefined ? spec.data : {
      position: spec.checkpoint, hash: hashAt(spec.checkpoint), keyId: keyIdOf(key),
      signature: signText(key, checkpointMessage(spec.checkpoint, hashAt(spec.checkpoint))),
    };
    const event = {
      position, tenantId: spec.tenantId, streamId: spec.streamId, streamVersion, type: spec.type, data,
      metadata: { actor: { kind: 'user' as const, id: 'u1' } }, recordedAt: new Date(1_700_000_000_000 + position * 1000).toISOString(),
    };
    log.push({ ...event, hash: chainHash(hashAt(position - 1), event) });
  }
  return log;
}

const checkpoint = (p: number): Spec => ({ tenantId: null, streamId: CHECKPOINT_STREAM, type: 'CheckpointSigned', data: null, checkpoint: p });

function scripted(key: KeyObject): HashedEvent[] {
  return buildLog([
    { tenantId: null, streamId: 'user-u1', type: 'UserRegistered', data: { userId: 'u1', email: 'a@example.com', passwordHash: '$argon2id$secret' } },
    { tenantId: A, streamId: `tenant-${A}`, type: 'TenantCreated', data: { tenantId: A, name: 'acme' } },
    { tenantId: B, streamId: `tenant-${B}`, type: 'TenantCreated', data: { tenantId: B, name: 'globex' } },
    { tenantId: A, streamId: NODE_A, type: 'NodeRegistered', data: { name: 'a-db-1', publicKey: 'pkA', tokenHash: 'a-token-hash' } },
    { tenantId: A, streamId: NODE_A, type: 'NodeSeen', data: {} },
    checkpoint(5),
    { tenantId: B, streamId: NODE_B, type: 'NodeRegistered', data: { name: 'b-web-1', publicKey: 'pkB', tokenHash: 'b-token-hash' } },
    { tenantId: A, streamId: NODE_A, type: 'NodeSeen', data: {} },
    { tenantId: A, streamId: NODE_A, type: 'NodeSeen', data: {} },
    { tenantId: A, streamId: NODE_A, type: 'NodeSeen', data: {} },
    // Signed while A's heartbeats were being committed: it signs a position inside a run B does not see.
    checkpoint(8),
    { tenantId: B, streamId: NODE_B, type: 'NodeSeen', data: {} },
    { tenantId: A, streamId: NODE_A, type: 'NodeSeen', data: {} },
  ], key);
}

function exportOf(log: HashedEvent[], tenantId: string, key: KeyObject, from = 0): string {
  const start = { position: from, hash: from === 0 ? GENESIS_HASH : log[from - 1].hash };
  const lines = new ExportLines(tenantId, start, key);
  const out = log.filter((e) => e.position > from).flatMap((e) => lines.next(e));
  out.push(...lines.finish(new Date('2026-12-01T00:00:00Z')));
  return out.map((l) => l.text + '\n').join('');
}

function verify(text: string, key: KeyObject, outside: Map<number, string> = new Map()): Verdict {
  const verifier = new ExportVerifier([key], outside);
  const lines = text.split('\n');
  const cut = lines.pop() !== '';
  for (const line of lines) if (!verifier.line(line)) break;
  return verifier.finish(cut);
}

describe('the audit export and its offline verification', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const log = scripted(privateKey);

  it('shows the tenant its events and every checkpoint, and other events only as runs of hashes', () => {
    const text = exportOf(log, B, privateKey);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.kind, l.from ?? l.position, l.position])).toEqual([
      ['hash', 1, 2], ['event', 3, 3], ['hash', 4, 5], ['event', 6, 6], ['redacted', 7, 7],
      ['hash', 8, 8], ['hash', 9, 10], ['event', 11, 11], ['event', 12, 12], ['hash', 13, 13], ['end', 13, 13],
    ]);
    expect(text).not.toContain('a-db-1');
    expect(text).not.toContain('acme');
    expect(text).not.toContain('a@example.com');
    expect(text).not.toMatch(/token-hash|argon2/);
    expect(lines[4]).toMatchObject({ redacted: ['tokenHash'], data: { name: 'b-web-1', publicKey: 'pkB' } });
    expect(verify(text, publicKey)).toMatchObject({ status: 'intact', summary: { events: 4, redacted: 1, hidden: 8, checkpoints: 2 } });
  });

  it('finds a change to any single byte of the export', () => {
    // Every byte of B's export (a redacted event, a run split for a checkpoint), every third of A's.
    for (const [tenant, step] of [[B, 1], [A, 3]] as const) {
      const text = exportOf(log, tenant, privateKey);
      const bytes = Buffer.from(text);
      const missed: number[] = [];
      for (let i = 0; i < bytes.length; i += step) {
        const flipped = Buffer.from(bytes);
        flipped[i] ^= 0x01;
        if (verify(flipped.toString('utf8'), publicKey).status === 'intact') missed.push(i);
      }
      expect(missed.map((i) => text.slice(Math.max(0, i - 20), i + 20))).toEqual([]);
    }
  });

  it('names the position of the change, or the run of hidden events it may be in', () => {
    const text = exportOf(log, B, privateKey);
    const lines = text.split('\n');
    const alter = (index: number, from: string, to: string) => lines.map((l, i) => (i === index ? l.replace(from, to) : l)).join('\n');
    // Event 3 follows a run of hidden events: the change is in the run or in the event.
    expect(verify(alter(1, 'globex', 'globez'), publicKey)).toMatchObject({ status: 'tampered', position: 3, from: 1 });
    expect(verify(alter(4, 'b-web-1', 'b-web-2'), publicKey)).toMatchObject({ status: 'tampered', position: 7 });
    // The hash of a run hidden before a checkpoint: the checkpoint signs it.
    const run = JSON.parse(lines[5]);
    expect(verify(alter(5, run.hash, run.hash.replace(/^./, run.hash[0] === 'a' ? 'b' : 'a')), publicKey))
      .toMatchObject({ status: 'tampered', position: 8 });
    // The hash of a run followed by an event: the event's hash no longer follows; the change is in the run or the event.
    const first = JSON.parse(lines[0]);
    expect(verify(alter(0, first.hash, first.hash.replace(/^./, first.hash[0] === 'a' ? 'b' : 'a')), publicKey))
      .toMatchObject({ status: 'tampered', position: 3, from: 1 });
  });

  it('passes a rewritten log whose chain and checkpoints were recomputed with the key, but not against a checkpoint kept outside', () => {
    const kept = log[4]; // position 5, signed by the checkpoint at 6, listed before the rewrite
    const rewritten = buildLog(log.map((e) => ({
      tenantId: e.tenantId, streamId: e.streamId, type: e.type,
      data: e.position === 3 ? { tenantId: B, name: 'rewritten' } : e.data,
      checkpoint: e.streamId === CHECKPOINT_STREAM ? (e.data as { position: number }).position : undefined,
    })), privateKey);
    const text = exportOf(rewritten, B, privateKey);
    expect(verify(text, publicKey).status).toBe('intact');
    expect(verify(text, publicKey, new Map([[kept.position, kept.hash]]))).toMatchObject({ status: 'tampered', position: 5 });
  });

  it('reports a cut-off or shortened log as truncated, and a checkpoint it does not show as unverifiable', () => {
    const text = exportOf(log, B, privateKey);
    const lines = text.trimEnd().split('\n');
    expect(verify(lines.slice(0, -1).join('\n') + '\n', publicKey)).toMatchObject({ status: 'truncated', reason: expect.stringContaining('no end line') });
    expect(verify(text.slice(0, text.length - 30), publicKey)).toMatchObject({ status: 'truncated', reason: expect.stringContaining('cut off') });
    expect(verify(lines.slice(0, 4).join('\n') + '\n', publicKey, new Map([[11, log[10].hash]])))
      .toMatchObject({ status: 'truncated', reason: expect.stringContaining('before the checkpoint given at 11') });
    expect(verify(text, publicKey, new Map([[9, log[8].hash]]))).toMatchObject({ status: 'unverifiable' });
    expect(verify('', publicKey)).toMatchObject({ status: 'truncated' });
  });

  it('verifies exports resumed from a position, alone and concatenated', () => {
    const first = exportOf(log.slice(0, 7), B, privateKey);
    const rest = exportOf(log, B, privateKey, 7);
    expect(verify(rest, publicKey)).toMatchObject({ status: 'intact', summary: { first: 7, last: 13 } });
    expect(verify(first + rest, publicKey)).toMatchObject({ status: 'intact', summary: { first: 0, last: 13 } });
    const other = generateKeyPairSync('ed25519');
    expect(verify(first, other.publicKey)).toMatchObject({ status: 'tampered', reason: expect.stringContaining('not by the key given') });
  });
});

/**
 * Bench part (j): the audit export's throughput over HTTP (GET /api/v1/audit/export, read to its end by a client that
 * counts bytes and lines), on SQLite. The log: one tenant with `nodes` nodes registered through the API, then steady-
 * state heartbeats (NodeSeen) of its nodes by load-log.ts's bulk loader up to `events`. Measured twice: the tenant's
 * own export (every event a line, as hashed) and another tenant's (the whole log as runs of hidden events).
 */
import { join } from 'node:path';
import { openDatabase } from '../storage/open-database';
import { appendNodeSeen } from './load-log';
import { fmt, Processes, registerNodes, setupTenant, startControlPlane } from './servers';

async function readExport(port: number, token: string): Promise<{ bytes: number; lines: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/audit/export`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200 || !response.body) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { bytes, lines, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export async function runAuditExport(procs: Processes, dir: string, options: { events: number; nodes: number }): Promise<string[]> {
  const databasePath = join(dir, 'audit-export.sqlite');
  const env = { DATABASE_PATH: databasePath };
  let server = await startControlPlane(procs, env);
  const owner = await setupTenant(server.port);
  const other = await setupTenant(server.port);
  const registered = await registerNodes([server.port], owner.admin, options.nodes, 16, (i) => `x${i}`);
  await procs.stop(server.child);

  const db = await openDatabase({ databasePath, writeBusyWaitMs: 5_000 });
  let head: number;
  let loadSeconds: number;
  try {
    const refs = new Map((await db.query<{ ref: number; stream_id: string }>('SELECT ref, stream_id FROM streams')).map((r) => [r.stream_id, r.ref]));
    const nodes = registered.nodes.map((n) => ({ id: n.id, streamId: `node-${n.id}`, ref: refs.get(`node-${n.id}`)!, version: 1 }));
    const before = (await db.one<{ position: number }>('SELECT position FROM chain_head WHERE id = 1'))!.position;
    loadSeconds = await appendNodeSeen(db, { tenantId: owner.tenantId, nodes }, Math.max(0, options.events - before));
    head = (await db.one<{ position: number }>('SELECT position FROM chain_head WHERE id = 1'))!.position;
  } finally {
    await db.close();
  }

  server = await startControlPlane(procs, env);
  const lines = [`(j) audit export over HTTP, SQLite, a log of ${fmt(head)} events (${options.nodes} nodes; heartbeats bulk-loaded in ${loadSeconds.toFixed(1)} s):`];
  try {
    for (const [label, token] of [["the tenant's own export", owner.admin], ["another tenant's (all hidden)", other.admin]] as const) {
      const run = await readExport(server.port, token);
      lines.push(`    ${label}: ${fmt(run.lines)} lines, ${fmt(run.bytes / 1e6, 1)} MB in ${run.seconds.toFixed(2)} s: ` +
        `${fmt(head / run.seconds)} events/s, ${fmt(run.bytes / 1e6 / run.seconds, 1)} MB/s`);
    }
  } finally {
    await procs.stop(server.child);
  }
  return lines;
}

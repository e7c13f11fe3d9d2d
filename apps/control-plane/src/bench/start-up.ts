/**
 * Bench part (g): a replica starting on a large log from a view snapshot, and `replay --full` over that log.
 *
 * The log (load-log.ts): `nodes` nodes, then NodeSeen events up to `events - tail`; the views are replayed from
 * position 0 and snapshotted there (ViewSnapshots.save, what the leader's snapshot taker stores); then `tail` more
 * NodeSeen events, as a replica meets them when the leader snapshots every SNAPSHOT_EVERY_EVENTS (default 100,000)
 * events. Start-up is the time from spawning a control-plane process on the store until /health/ready answers 200:
 * migrations checked, inline projections at their checkpoints, the views restored from the snapshot, the tail
 * replayed, the API listening.
 */
import { ViewFeeder } from '../projections/view-feeder';
import { ViewSnapshots } from '../projections/view-snapshots';
import { freshViews, replay } from '../replay';
import { SqlEventStore } from '../event-store/sql-event-store';
import { Database } from '../storage/database.port';
import { openDatabase, StorageSettings } from '../storage/open-database';
import { appendNodeSeen, seedLog } from './load-log';
import { fmt, freePort, Processes, SERVER_ENV, sleep } from './servers';
import { StoreProbe } from './store-probe';

export interface StartUpOptions {
  events: number;
  tail: number;
  nodes: number;
  runs: number;
}

type Settings = Pick<StorageSettings, 'databasePath' | 'databaseUrl'>;

async function withDb<T>(settings: Settings, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ ...settings, writeBusyWaitMs: 5_000 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Spawns a control plane on the store; milliseconds until /health/ready answered 200. Stops it again. */
async function timeStartUp(procs: Processes, env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = procs.start('../main.js', { ...SERVER_ENV, ...env, PORT: String(port) });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`control plane exited with ${child.exitCode} during start-up`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        await res.arrayBuffer();
        if (res.status === 200) return Number(process.hrtime.bigint() - started) / 1e6;
      } catch { /* not listening yet */ }
      await sleep(10);
    }
  } finally {
    await procs.stop(child);
  }
}

export async function runStartUp(
  procs: Processes, label: string, settings: Settings, serverEnv: Record<string, string>, probe: () => Promise<StoreProbe>, options: StartUpOptions,
): Promise<{ lines: string[]; ok: boolean }> {
  const bulk = options.events - options.tail - 1 - 2 * options.nodes;
  if (bulk < 0) throw new Error(`BENCH_STARTUP_EVENTS must exceed the tail plus ${1 + 2 * options.nodes} seed events`);
  let started = Date.now();
  const seeded = await withDb(settings, (db) => seedLog(db, options.nodes));
  const seedSeconds = (Date.now() - started) / 1000;
  const bulkSeconds = await withDb(settings, (db) => appendNodeSeen(db, seeded, bulk));

  started = Date.now();
  const snapshot = await withDb(settings, async (db) => {
    const store = new SqlEventStore(db);
    const feeder = new ViewFeeder(store, freshViews(), []);
    const applied = await feeder.start();
    const replaySeconds = (Date.now() - started) / 1000;
    const state = feeder.snapshot();
    await new ViewSnapshots(db, store).save(state, new Date());
    return { position: state.position, bytes: Buffer.byteLength(JSON.stringify(state.state)), applied, replaySeconds };
  });
  const tailSeconds = await withDb(settings, (db) => appendNodeSeen(db, seeded, options.tail));

  const p = await probe();
  const head = await p.head();
  const usage = await p.usage();
  const parts = await p.breakdown();
  await p.close();

  const startUps: number[] = [];
  for (let run = 0; run < options.runs; run++) startUps.push(await timeStartUp(procs, serverEnv));

  const replayLines: string[] = [];
  const ok = await replay(settings, { full: true }, (line) => replayLines.push(line));
  const viewsRate = replayLines.map((l) => /into the views from position 0 in .*\((\d+) events\/s\)/.exec(l)?.[1]).find(Boolean);
  const best = Math.min(...startUps);
  return {
    ok,
    lines: [
      `  ${label}: ${fmt(head)} events (${fmt(options.nodes)} nodes), ${fmt(usage.log / 1e6, 0)} MB of log (${(usage.log / head).toFixed(0)} bytes/event), whole database ${fmt(usage.total / 1e6, 0)} MB`,
      `    per event: ${Object.entries(parts).map(([name, bytes]) => `${name} ${(bytes / head).toFixed(1)}`).join(', ')} bytes`,
      `    log built in ${(seedSeconds + bulkSeconds + tailSeconds).toFixed(0)} s: ${fmt(1 + 2 * options.nodes)} seed events through SqlEventStore in ${seedSeconds.toFixed(1)} s, ${fmt(bulk + options.tail)} NodeSeen rows by the bulk loader (${fmt((bulk + options.tail) / (bulkSeconds + tailSeconds))}/s)`,
      `    views replayed from position 0 for the snapshot: ${fmt(snapshot.applied)} events in ${snapshot.replaySeconds.toFixed(1)} s (${fmt(snapshot.applied / snapshot.replaySeconds)} events/s); snapshot at ${fmt(snapshot.position)}, ${fmt(snapshot.bytes / 1e3, 0)} kB; then ${fmt(options.tail)} more events`,
      `    replica start-up (spawn → /health/ready 200), snapshot + ${fmt(options.tail)}-event tail: ${startUps.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')}      target ≤ 10 s: ${best <= 10_000 ? 'met' : 'NOT met'}`,
      `    npm run replay -- --full:`,
      ...replayLines.map((l) => `      ${l}`),
      `    replay events/s (views from position 0): ${viewsRate ? fmt(Number(viewsRate)) : '?'}      target ≥ 1,000,000 compact events/s: ${Number(viewsRate) >= 1_000_000 ? 'met' : 'NOT met'}`,
    ],
  };
}

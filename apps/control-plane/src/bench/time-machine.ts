/**
 * Bench part (i): the audit time machine's questions over a 1,000,000-event log, each timed in process through its
 * query handler (what the controller calls), on SQLite and PostgreSQL.
 *
 * The log (load-log.ts): one tenant, `nodes` nodes registered and online; then a reachability history through the
 * real append path — policy v2 with tags and a scheduled entry, 100 nodes retagged `tag:web` and 100 `tag:db`, a
 * schedule window opened and closed, 10 web nodes removed, policy v3 — and the rest of the log steady-state
 * heartbeats (NodeSeen) by the bulk loader, as production's log is mostly heartbeats.
 */
import { Event, streams } from '@meshgate/domain';
import { GetAccessHandler } from '../audit/time-machine/queries/get-access.handler';
import { GetAccessQuery } from '../audit/time-machine/queries/get-access.query';
import { GetNodeHistoryHandler } from '../audit/time-machine/queries/get-node-history.handler';
import { GetNodeHistoryQuery } from '../audit/time-machine/queries/get-node-history.query';
import { GetReachabilityHandler } from '../audit/time-machine/queries/get-reachability.handler';
import { GetReachabilityQuery } from '../audit/time-machine/queries/get-reachability.query';
import { GetTimelineHandler } from '../audit/time-machine/queries/get-timeline.handler';
import { GetTimelineQuery } from '../audit/time-machine/queries/get-timeline.query';
import { ReachabilityHistoryReadModel } from '../audit/time-machine/reachability-history.read-model';
import { SqlEventStore } from '../event-store/sql-event-store';
import { GetPolicyVersionsHandler } from '../policies/queries/get-policy-versions.handler';
import { GetPolicyVersionsQuery } from '../policies/queries/get-policy-versions.query';
import { InlineProjections } from '../projections/inline-projections';
import { ProjectionRunner } from '../projections/projection-runner';
import { ViewFeeder } from '../projections/view-feeder';
import { ViewSnapshots } from '../projections/view-snapshots';
import { freshViews, inlineProjections } from '../replay';
import { Database } from '../storage/database.port';
import { openDatabase, StorageSettings } from '../storage/open-database';
import { appendNodeSeen, seedLog, SeededLog } from './load-log';
import { fmt } from './servers';

const RUNS = 5;
const TARGET_MS = 1000;
const name = (i: number) => `n${String(i).padStart(5, '0')}`;
const TAGS = { 'tag:web': ['autogroup:admin'], 'tag:db': ['autogroup:admin'] };

/** The reachability history, through SqlEventStore and the server's inline projections. */
async function appendHistory(db: Database, seeded: SeededLog): Promise<{ events: number; start: string }> {
  const store = new SqlEventStore(db);
  await new ProjectionRunner(db, store, new InlineProjections(db, store, inlineProjections()), new ViewFeeder(store, freshViews(), []),
    new ViewSnapshots(db, store)).start();
  const { tenantId, nodes } = seeded;
  const actor = { actor: { kind: 'system' as const, id: 'bench' } };
  const start = new Date().toISOString();
  let events = 0;
  const append = async (streamId: string, expectedVersion: number, event: Event) => {
    await store.append({ tenantId, streams: [{ streamId, expectedVersion, events: [event] }], metadata: actor });
    events++;
  };
  const policy = (version: number, acls: unknown[]) => append(streams.policy(tenantId), version - 1, {
    type: 'PolicyUpdated', data: { tenantId, version, policy: {
      tagOwners: TAGS, schedules: { office: { timeZone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' } }, acls,
    } } });
  const v2 = [
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'] },
    { action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:22'], schedule: 'office' },
    { action: 'accept', src: ['*'], proto: 'tcp', dst: ['tag:web:443'] },
  ];
  await policy(2, v2);
  for (let i = 0; i < 200; i++) {
    await append(nodes[i].streamId, 2, { type: 'NodeTagsChanged', data: { nodeId: nodes[i].id, tags: [i < 100 ? 'tag:web' : 'tag:db'] } });
  }
  const schedule = (type: string, version: number) =>
    append(streams.schedule(tenantId), version, { type, data: { tenantId, schedule: 'office', at: new Date().toISOString() } });
  await schedule('ScheduleWindowOpened', 0);
  await schedule('ScheduleWindowClosed', 1);
  for (let i = 90; i < 100; i++) await append(nodes[i].streamId, 3, { type: 'NodeRemoved', data: { nodeId: nodes[i].id, publicKey: 'removed' } });
  await policy(3, [{ action: 'deny', src: [name(1)], dst: ['*'] }, ...v2]);
  return { events, start };
}

async function time(fn: () => Promise<unknown>): Promise<{ first: number; median: number; max: number }> {
  const ms: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { first: ms[0], median: sorted[Math.floor(RUNS / 2)], max: sorted[RUNS - 1] };
}

export async function runTimeMachine(
  label: string, settings: Pick<StorageSettings, 'databasePath' | 'databaseUrl'>, options: { events: number; nodes: number },
): Promise<{ lines: string[]; met: boolean }> {
  const db = await openDatabase({ ...settings, writeBusyWaitMs: 5_000 });
  try {
    let started = Date.now();
    const seeded = await seedLog(db, options.nodes);
    const history = await appendHistory(db, seeded);
    const buildSeconds = (Date.now() - started) / 1000;
    const bulk = options.events - (1 + 2 * options.nodes) - history.events;
    started = Date.now();
    const bulkSeconds = await appendNodeSeen(db, seeded, bulk);
    const head = (await db.one<{ position: number }>('SELECT position FROM chain_head WHERE id = 1'))!.position;

    const store = new SqlEventStore(db);
    const model = new ReachabilityHistoryReadModel(db, { manual: false, now: () => new Date() });
    const at = new Date().toISOString();
    const t = seeded.tenantId;
    const reachability = new GetReachabilityHandler(model);
    const access = new GetAccessHandler(model);
    const timeline = new GetTimelineHandler(model);
    const nodeHistory = new GetNodeHistoryHandler(model, store);
    const versions = new GetPolicyVersionsHandler(store);
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['reachability n00000 → n00100 tcp/5432', () => reachability.execute(new GetReachabilityQuery(t, { at, src: name(0), dst: name(100), proto: 'tcp', port: 5432 }))],
      ['access: who reaches n00000 (tag:web, 443 from all)', () => access.execute(new GetAccessQuery(t, { at, dst: name(0) }))],
      ['access: what n00000 reaches', () => access.execute(new GetAccessQuery(t, { at, src: name(0) }))],
      ['timeline n00000 → n00100, whole history', () => timeline.execute(new GetTimelineQuery(t, { src: name(0), dst: name(100), from: history.start, to: at }))],
      [`node history n00000 (${fmt(Math.round(bulk / options.nodes))} heartbeats)`, () => nodeHistory.execute(new GetNodeHistoryQuery(t, name(0)))],
      ['policy versions (list)', () => versions.execute(new GetPolicyVersionsQuery(t))],
      ['policy version 3 with diffs', () => versions.execute(new GetPolicyVersionsQuery(t, 3))],
    ];
    const lines = [
      `  ${label}: ${fmt(head)} events (${fmt(options.nodes)} nodes, ${history.events} reachability events after the seed), built in ${(buildSeconds + bulkSeconds).toFixed(0)} s`,
    ];
    let met = true;
    for (const [what, fn] of cases) {
      const figures = await time(fn);
      met &&= figures.max < TARGET_MS;
      lines.push(`    ${what.padEnd(52)} first ${figures.first.toFixed(1)} ms, median ${figures.median.toFixed(1)} ms, max ${figures.max.toFixed(1)} ms`);
    }
    lines.push(`    target < 1 s for every query: ${met ? 'met' : 'NOT met'}`);
    return { lines, met };
  } finally {
    await db.close();
  }
}

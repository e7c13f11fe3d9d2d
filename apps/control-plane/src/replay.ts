/**
 * `npm run replay [-- --full]`: verifies the log and rebuilds the read models from it, on either store
 * (DATABASE_URL, else DATABASE_PATH). By default from the newest view snapshot: the snapshot's hash must be the log's
 * at its position, the chain must verify from there to the head, and the views are rebuilt from the snapshot and the
 * tail. With `--full`, from position 0: the whole chain, the inline tables rebuilt and compared with the live ones,
 * and the views replayed from nothing and compared with the views from the snapshot. Exit 1 if anything differs.
 * Run it with the servers stopped.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SqlEventStore } from './event-store/sql-event-store';
import { GENESIS_HASH } from './event-store/hash-chain';
import { AuditLogProjection } from './projections/audit-log.inline';
import { ReachabilityEventsProjection } from './projections/reachability-events.inline';
import { ApiKeysProjection } from './projections/api-keys.inline';
import { DirectoryProjection } from './projections/directory.inline';
import { InlineProjections } from './projections/inline-projections';
import { MembershipsView } from './projections/memberships.view';
import { NodeConfigView } from './projections/node-config.view';
import { NodeIdentitiesProjection } from './projections/node-identities.inline';
import { NodesView } from './projections/nodes.view';
import { diffReadModels, tableRows, viewStates } from './projections/read-model-snapshot';
import { ViewFeeder } from './projections/view-feeder';
import { ViewSnapshots } from './projections/view-snapshots';
import { openDatabase, StorageSettings } from './storage/open-database';

/** The inline projections and views the server runs, fresh. */
export const inlineProjections = () => [new DirectoryProjection(), new NodeIdentitiesProjection(), new ApiKeysProjection(), new AuditLogProjection(), new ReachabilityEventsProjection()];
export const freshViews = () => [new NodesView(), new NodeConfigView(), new MembershipsView()];

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const rate = (n: number, s: number) => `${Math.round(n / Math.max(s, 1e-9))} events/s`;

export async function replay(
  settings: Pick<StorageSettings, 'databasePath' | 'databaseUrl'> | string,
  options: { full?: boolean } = {},
  log: (line: string) => void = console.log,
): Promise<boolean> {
  const db = await openDatabase({ ...(typeof settings === 'string' ? { databasePath: settings } : settings), writeBusyWaitMs: 5_000 });
  try {
    const store = new SqlEventStore(db);
    const inline = new InlineProjections(db, store, inlineProjections());
    // Bring the inline tables to the head first (a crash may have left them behind).
    await inline.start();
    const snapshot = await new ViewSnapshots(db, store).latest();
    const from = options.full || !snapshot ? { position: 0, hash: GENESIS_HASH } : { position: snapshot.position, hash: snapshot.hash };

    let started = process.hrtime.bigint();
    const broken = await store.verifyChain(from);
    const head = await store.head();
    log(broken === null
      ? `hash chain intact from position ${from.position} to ${head.position} (${seconds(started).toFixed(2)} s)`
      : `hash chain BROKEN at position ${broken}`);

    started = process.hrtime.bigint();
    const fromSnapshot = new ViewFeeder(store, freshViews(), []);
    const tail = await fromSnapshot.start(snapshot ?? undefined);
    const tailSeconds = seconds(started);
    log(`replayed ${tail} events into the views from ${snapshot ? `the snapshot at ${snapshot.position}` : 'position 0'} in ${tailSeconds.toFixed(2)} s (${rate(tail, tailSeconds)})`);
    const differences: string[] = [];

    if (options.full) {
      const live = await tableRows(db, inline.projections);
      started = process.hrtime.bigint();
      const events = await inline.rebuild();
      const inlineSeconds = seconds(started);
      differences.push(...diffReadModels(live, await tableRows(db, inline.projections)));
      log(`replayed ${events} events into the inline projections in ${inlineSeconds.toFixed(2)} s (${rate(events, inlineSeconds)})`);
      started = process.hrtime.bigint();
      const fromZero = new ViewFeeder(store, freshViews(), []);
      const all = await fromZero.start();
      const viewSeconds = seconds(started);
      log(`replayed ${all} events into the views from position 0 in ${viewSeconds.toFixed(2)} s (${rate(all, viewSeconds)})`);
      differences.push(...diffReadModels(viewStates(fromSnapshot.views), viewStates(fromZero.views)));
    }
    if (differences.length) log(`read models differ after rebuild:\n${differences.join('\n')}`);
    else if (options.full) log('read models identical');
    return broken === null && differences.length === 0;
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  const databaseUrl = process.env.DATABASE_URL || null;
  const databasePath = resolve(process.env.DATABASE_PATH || './data/meshgate.sqlite');
  if (!databaseUrl && !existsSync(databasePath)) {
    console.error(`no database at ${databasePath} (set DATABASE_PATH or DATABASE_URL)`);
    process.exit(2);
  }
  replay({ databasePath, databaseUrl }, { full: process.argv.includes('--full') }).then((ok) => process.exit(ok ? 0 : 1), (error) => {
    console.error(error);
    process.exit(1);
  });
}

/**
 * `npm run replay`: drops every read model, rebuilds it from position 0, and checks that the rebuilt models equal the
 * ones that were there (exit 1 if not) and that the hash chain is intact. Run it with the server stopped.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { openSqlite } from './database/sqlite-database';
import { SqliteEventStore } from './event-store/sqlite-event-store';
import { allProjections } from './projections/all-projections';
import { ProjectionRunner } from './projections/projection-runner';
import { diffSnapshots, snapshotReadModels } from './projections/read-model-snapshot';

export async function replay(databasePath: string, log: (line: string) => void = console.log): Promise<boolean> {
  const { dataSource, runner: sql } = await openSqlite(databasePath);
  try {
    const store = new SqliteEventStore(sql);
    const projections = allProjections();
    const runner = new ProjectionRunner(sql, store, projections);
    // Bring the live models to the head first (a crash may have left them behind), then keep them for comparison.
    runner.start();
    const live = snapshotReadModels(sql, projections);

    let started = process.hrtime.bigint();
    const broken = store.verifyChain();
    const chainSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    started = process.hrtime.bigint();
    const events = runner.rebuild();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rebuilt = snapshotReadModels(sql, projections);
    const differences = diffSnapshots(live, rebuilt);

    log(`replayed ${events} events in ${seconds.toFixed(2)} s (${Math.round(events / Math.max(seconds, 1e-9))} events/s)`);
    log(broken === null
      ? `hash chain intact (${chainSeconds.toFixed(2)} s)`
      : `hash chain BROKEN at position ${broken}`);
    if (differences.length) log(`read models differ after rebuild:\n${differences.join('\n')}`);
    else log(`read models identical (${[...rebuilt.values()].reduce((n, rows) => n + rows.length, 0)} rows in ${rebuilt.size} tables)`);
    return broken === null && differences.length === 0;
  } finally {
    await dataSource.destroy();
  }
}

if (require.main === module) {
  const path = resolve(process.env.DATABASE_PATH || './data/meshgate.sqlite');
  if (!existsSync(path)) {
    console.error(`no database at ${path} (set DATABASE_PATH)`);
    process.exit(2);
  }
  replay(path).then((ok) => process.exit(ok ? 0 : 1), (error) => {
    console.error(error);
    process.exit(1);
  });
}

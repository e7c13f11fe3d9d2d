import type { RecordedEvent } from '@meshgate/domain';
import { EventStore } from '../event-store/event-store.port';
import { Database, SqlExecutor, Transaction } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

const CATCH_UP_BATCH = 10_000;

/**
 * Runs the inline projections: inside each append transaction (per request, in its savepoint), and on start from
 * their checkpoints up to the head (a projection added by an upgrade starts at 0). `rebuild` empties their tables and
 * replays the whole log (`npm run replay --full`, with the servers stopped).
 */
export class InlineProjections {
  private checkpoints = new Map<string, number>();

  constructor(private readonly db: Database, private readonly store: EventStore, readonly projections: readonly InlineProjection[]) {}

  async start(): Promise<number> {
    const rows = await this.db.query<{ name: string; position: number }>('SELECT name, position FROM projection_checkpoints');
    this.checkpoints = new Map(rows.map((r) => [r.name, r.position]));
    return this.catchUp();
  }

  async apply(sql: SqlExecutor, events: readonly RecordedEvent[]): Promise<void> {
    for (const p of this.projections) {
      const checkpoint = this.checkpoints.get(p.name) ?? 0;
      for (const event of events) if (event.position > checkpoint) await p.apply(event, sql);
    }
  }

  async writeCheckpoints(sql: SqlExecutor, position: number): Promise<void> {
    if (this.projections.length === 0) return;
    await sql.execute(
      `INSERT INTO projection_checkpoints (name, position) VALUES ${this.projections.map(() => '(?, ?)').join(', ')}
       ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
      this.projections.flatMap((p) => [p.name, position]),
    );
  }

  /** The transaction holding `writeCheckpoints(position)` committed. */
  committed(position: number): void {
    for (const p of this.projections) this.checkpoints.set(p.name, position);
  }

  async rebuild(): Promise<number> {
    await this.db.transaction(async (tx) => {
      for (const p of this.projections) for (const table of p.tables) await tx.execute(`DELETE FROM ${table}`);
      await tx.execute('DELETE FROM projection_checkpoints');
    });
    this.checkpoints.clear();
    return this.catchUp();
  }

  /** Applies what the checkpoints have not seen, holding the chain head so that no append interleaves. */
  private async catchUp(): Promise<number> {
    let applied = 0;
    for (;;) {
      const from = Math.min(...this.projections.map((p) => this.checkpoints.get(p.name) ?? 0));
      const reached = await this.db.transaction(async (tx: Transaction): Promise<number | null> => {
        const head = (await tx.one<{ position: number }>('UPDATE chain_head SET position = position WHERE id = 1 RETURNING position'))!.position;
        if (from >= head) return null;
        // Read to its end (positions are dense): a read left early costs PostgreSQL its COPY's connection.
        const batch: RecordedEvent[] = [];
        for await (const event of this.store.readAll(from, Math.min(head, from + CATCH_UP_BATCH))) batch.push(event);
        await this.apply(tx, batch);
        await this.writeCheckpoints(tx, batch[batch.length - 1].position);
        applied += batch.length;
        return batch[batch.length - 1].position;
      });
      if (reached === null) return applied;
      this.committed(reached);
    }
  }
}

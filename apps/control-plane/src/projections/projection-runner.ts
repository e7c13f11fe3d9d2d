import type { RecordedEvent } from '@meshgate/domain';
import { SqlRunner } from '../database/sql.port';
import { CommitParticipant, EventStore } from '../event-store/event-store.port';
import { Projection } from './projection';

const CATCH_UP_BATCH = 10_000;

/**
 * Keeps every projection at the head of the log. Live appends are applied inside the append transaction, with each
 * projection's checkpoint; on start, projections catch up from their checkpoints; `rebuild` starts them from zero.
 */
export class ProjectionRunner implements CommitParticipant {
  private checkpoints = new Map<string, number>();

  constructor(
    private readonly sql: SqlRunner,
    private readonly store: EventStore,
    readonly projections: readonly Projection[],
  ) {}

  /** Loads state and catches up; returns the number of events applied. */
  start(): number {
    this.reload();
    const applied = this.catchUp();
    this.store.setParticipant(this);
    return applied;
  }

  applyInTransaction(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    this.applyBatch(events);
  }

  afterCommit(): void {
    for (const p of this.projections) p.afterCommit?.();
  }

  afterRollback(): void {
    this.reload();
  }

  /** Empties every read model and rebuilds it from position 0. */
  rebuild(): number {
    this.sql.transaction(() => {
      for (const p of this.projections) for (const table of p.tables) this.sql.run(`DELETE FROM ${table}`);
      this.sql.run('DELETE FROM projection_checkpoints');
    });
    this.reload();
    return this.catchUp();
  }

  /** Read models back to what the database holds. */
  private reload(): void {
    for (const p of this.projections) p.load(this.sql);
    this.readCheckpoints();
  }

  private catchUp(): number {
    const from = Math.min(...this.projections.map((p) => this.checkpoints.get(p.name) ?? 0));
    let batch: RecordedEvent[] = [];
    let applied = 0;
    const write = () => {
      this.sql.transaction(() => this.applyBatch(batch));
      this.afterCommit();
      applied += batch.length;
      batch = [];
    };
    for (const event of this.store.readAll(from)) {
      batch.push(event);
      if (batch.length >= CATCH_UP_BATCH) write();
    }
    if (batch.length) write();
    return applied;
  }

  private applyBatch(events: readonly RecordedEvent[]): void {
    const last = events[events.length - 1].position;
    for (const p of this.projections) {
      const checkpoint = this.checkpoints.get(p.name) ?? 0;
      for (const event of events) if (event.position > checkpoint) p.apply(event, this.sql);
      p.flush(this.sql);
      this.sql.run(
        'INSERT INTO projection_checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
        [p.name, last],
      );
      this.checkpoints.set(p.name, last);
    }
  }

  private readCheckpoints(): void {
    this.checkpoints = new Map(
      this.sql.all<{ name: string; position: number }>('SELECT name, position FROM projection_checkpoints').map((r) => [r.name, r.position]),
    );
  }
}

import { EventStore } from '../event-store/event-store.port';
import { Database } from '../storage/database.port';

/** Bumped whenever a view's snapshot shape changes: snapshots of another format are ignored (the log is replayed). */
export const VIEW_SNAPSHOT_FORMAT = 3;

export interface ViewSnapshot {
  position: number;
  /** The chain hash at `position`: a snapshot is used only if the log still agrees with it. */
  hash: string;
  state: Record<string, unknown>;
}

/** Snapshots of every view at one position, so that a replica starts from it and replays only the tail. */
export class ViewSnapshots {
  constructor(private readonly db: Database, private readonly store: EventStore) {}

  /** The newest usable snapshot: of this format, and whose hash is the log's hash at its position. */
  async latest(): Promise<ViewSnapshot | null> {
    const rows = await this.db.query<{ position: number; hash: Buffer; data: string }>(
      'SELECT position, hash, data FROM view_snapshots WHERE format = ? ORDER BY position DESC LIMIT 2', [VIEW_SNAPSHOT_FORMAT]);
    for (const row of rows) {
      const hash = Buffer.from(row.hash).toString('hex');
      if ((await this.store.hashAt(row.position)) === hash) return { position: row.position, hash, state: JSON.parse(row.data) };
    }
    return null;
  }

  /** Stores a snapshot (another replica may have stored the same position first) and keeps only the newest two. */
  async save(snapshot: { position: number; state: Record<string, unknown> }, takenAt: Date): Promise<void> {
    if (snapshot.position === 0) return;
    const hash = await this.store.hashAt(snapshot.position);
    if (hash === null) throw new Error(`no event at position ${snapshot.position}`);
    const data = JSON.stringify(snapshot.state);
    await this.db.transaction(async (tx) => {
      await tx.execute(
        'INSERT INTO view_snapshots (position, hash, format, data, taken_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING',
        [snapshot.position, Buffer.from(hash, 'hex'), VIEW_SNAPSHOT_FORMAT, data, takenAt.toISOString()]);
      await tx.execute(
        'DELETE FROM view_snapshots WHERE position < (SELECT MIN(position) FROM (SELECT position FROM view_snapshots ORDER BY position DESC LIMIT 2) newest)');
    });
  }
}

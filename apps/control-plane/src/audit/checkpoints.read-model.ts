import { Inject, Injectable } from '@nestjs/common';
import { CHECKPOINT_STREAM, CheckpointSigned } from '@meshgate/domain';
import type { CheckpointPage, CheckpointView } from '@meshgate/contracts';
import { DATABASE, Database } from '../storage/database.port';

interface CheckpointRow { position: number; stream_version: number; data: string; recorded_at: number }

/** The signed checkpoints, newest first, straight from their stream in the log (its version index pages them). */
@Injectable()
export class CheckpointsReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /** `before`: a stream version (the previous page's cursor). */
  async page(limit: number, before?: number): Promise<CheckpointPage> {
    const rows = await this.rows(limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toView),
      nextCursor: rows.length > limit ? String(page[page.length - 1].stream_version) : null,
    };
  }

  /** The newest checkpoint and its stream version (0: none yet). */
  async latest(): Promise<{ view: CheckpointView | null; version: number }> {
    const [row] = await this.rows(1);
    return { view: row ? toView(row) : null, version: row?.stream_version ?? 0 };
  }

  private rows(limit: number, before?: number): Promise<CheckpointRow[]> {
    return this.db.query<CheckpointRow>(
      `SELECT e.position, e.stream_version, e.data, e.recorded_at FROM events e JOIN streams s ON s.ref = e.stream_ref
       WHERE s.stream_id = ?${before === undefined ? '' : ' AND e.stream_version < ?'} ORDER BY e.stream_version DESC LIMIT ?`,
      before === undefined ? [CHECKPOINT_STREAM, limit] : [CHECKPOINT_STREAM, before, limit],
    );
  }
}

function toView(row: CheckpointRow): CheckpointView {
  const data = JSON.parse(row.data) as CheckpointSigned['data'];
  return {
    eventPosition: Number(row.position), at: new Date(Number(row.recorded_at)).toISOString(),
    position: data.position, hash: data.hash, keyId: data.keyId, signature: data.signature,
  };
}

import type { RecordedEvent } from '@meshgate/domain';
import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/** Hashes are credentials-derived: they stay in the log but never reach an API reader. */
const SECRET_FIELDS = new Set(['passwordHash', 'tokenHash', 'secretHash']);
/**
 * Heartbeats are in the log (status and traffic over time can always be replayed), but one per node per interval
 * would drown every other entry: the audit lists what someone or something decided, and status changes.
 */
const NOT_AUDITED = new Set(['NodeHeartbeatRecorded', 'NodeSeen']);

/** `node-<uuid>` → `node:<uuid>`; every stream id ends in a 36-character UUID. */
function subjectOf(streamId: string): string {
  return `${streamId.slice(0, -37)}:${streamId.slice(-36)}`;
}

/** The audit log's rows, written in the append transaction: what someone or something decided, and status changes. */
export class AuditLogProjection implements InlineProjection {
  readonly name = 'audit';
  readonly tables = ['audit_log'];

  async apply(event: RecordedEvent, sql: SqlExecutor): Promise<void> {
    if (NOT_AUDITED.has(event.type)) return;
    const details = Object.fromEntries(
      Object.entries(event.data as Record<string, unknown>).filter(([key]) => !SECRET_FIELDS.has(key)),
    );
    await sql.execute(
      `INSERT INTO audit_log (position, tenant_id, at, actor_kind, actor_id, type, subject, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [event.position, event.tenantId, event.recordedAt, event.metadata.actor.kind, event.metadata.actor.id, event.type,
        subjectOf(event.streamId), JSON.stringify(details)],
    );
  }
}

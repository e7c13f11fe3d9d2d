import { diffPolicyVersions, PolicyDiffSummary, PolicyUpdated, RecordedEvent } from '@meshgate/domain';
import { EVENTS_FROM } from '../event-store/event-codec';
import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/** Hashes are credentials-derived: they stay in the log but never reach an API reader. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['passwordHash', 'tokenHash', 'secretHash']);
/**
 * Heartbeats are in the log (status and traffic over time can always be replayed), but one per node per interval
 * would drown every other entry: the audit lists what someone or something decided, and status changes. Signed
 * checkpoints belong to no tenant (GET /api/v1/audit/checkpoints lists them).
 */
const NOT_AUDITED = new Set(['NodeHeartbeatRecorded', 'NodeSeen', 'CheckpointSigned']);

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
    if (event.type === 'PolicyUpdated') details.diff = await policyDiffSummary(event, sql);
    await sql.execute(
      `INSERT INTO audit_log (position, tenant_id, at, actor_kind, actor_id, type, subject, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [event.position, event.tenantId, event.recordedAt, event.metadata.actor.kind, event.metadata.actor.id, event.type,
        subjectOf(event.streamId), JSON.stringify(details)],
    );
  }
}

/** What a policy version changed against the one before it (its stream's previous event), as counts. */
async function policyDiffSummary(event: RecordedEvent, sql: SqlExecutor): Promise<PolicyDiffSummary> {
  const row = event.streamVersion > 1
    ? await sql.one<{ data: string }>(`SELECT e.data FROM ${EVENTS_FROM} WHERE s.stream_id = ? AND e.stream_version = ?`, [event.streamId, event.streamVersion - 1])
    : undefined;
  const previous = row ? (JSON.parse(row.data) as PolicyUpdated['data']) : null;
  return diffPolicyVersions(previous, event.data as PolicyUpdated['data']).summary;
}

import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { IsOmittable } from './omittable.decorator';

/** `GET /api/v1/audit/export?from=` and `GET /api/v1/audit/stream?from=`: the position to start after (0: the whole log). */
export class AuditExportQueryDto {
  @IsOmittable() @IsString() @Matches(/^[0-9]{1,15}$/, { message: 'from must be a position of the log (an integer ≥ 0)' })
  from?: string;
}

export class CheckpointsQueryDto {
  @IsOmittable() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOmittable() @IsString() @Matches(/^[0-9]{1,15}$/, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;
}

/** A signed checkpoint as listed: `position:hash` is what `npm run verify -- --checkpoint` takes. */
export interface CheckpointView {
  /** Where the checkpoint itself sits in the log. */
  eventPosition: number;
  at: string;
  /** The position signed, and the chain hash after it. */
  position: number;
  hash: string;
  keyId: string;
  signature: string;
}

export interface CheckpointPage { items: CheckpointView[]; nextCursor: string | null }

/**
 * One line of the export (and one SSE frame's data), in canonical JSON (keys sorted, no spaces), so that any change to
 * any byte is either a different value or a line out of canonical form.
 */
export type AuditExportLine = ExportStart | ExportEvent | ExportRedactedEvent | ExportHiddenEvents | ExportEnd;

/** First line: the chain hash after `position` (the export's `from`; the genesis hash at 0). */
export interface ExportStart { kind: 'start'; position: number; hash: string }

/** An event exactly as hashed (the line minus `kind` and `hash`), and the chain hash after it. */
export interface ExportEvent {
  kind: 'event';
  position: number;
  tenantId: string | null;
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
  hash: string;
}

/**
 * An event of the tenant that holds a secret (a password, token or key hash): shown without the fields named in
 * `redacted`. The chain cannot be recomputed without them, so the server vouches instead: it checked that the stored
 * event hashes from `previous` to `hash`, and signed the line (without `signature`) with the checkpoint key.
 */
export interface ExportRedactedEvent extends Omit<ExportEvent, 'kind'> {
  kind: 'redacted';
  redacted: string[];
  previous: string;
  keyId: string;
  signature: string;
}

/** Events `from`..`position` of other tenants (and accounts), not shown: only the chain hash after the last one. */
export interface ExportHiddenEvents { kind: 'hash'; from: number; position: number; hash: string }

/** Last line of a complete export: the server signs where it ended, so a cut-off copy is told from a complete one. */
export interface ExportEnd { kind: 'end'; position: number; hash: string; at: string; tenantId: string; keyId: string; signature: string }

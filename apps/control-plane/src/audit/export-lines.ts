import type { KeyObject } from 'node:crypto';
import { CHECKPOINT_STREAM, CheckpointSigned, exportLineMessage } from '@meshgate/domain';
import type { AuditExportLine, ExportEnd, ExportHiddenEvents, ExportRedactedEvent } from '@meshgate/contracts';
import type { HashedEvent } from '../event-store/event-store.port';
import { canonicalJson, chainHash } from '../event-store/hash-chain';
import { SECRET_FIELDS } from '../projections/audit-log.inline';
import { keyIdOf, signText } from './checkpoint-signature';
import { PositionRing } from './position-ring';

/** The stored event's chain hash does not follow from the one before it: the log itself is broken there. */
export class ChainBrokenError extends Error {
  constructor(readonly position: number) {
    super(`the hash chain is broken at position ${position}: the export stops before it`);
  }
}

/** One line of the export: its text (canonical JSON, no newline), and what an SSE frame names it by. */
export interface Line { kind: AuditExportLine['kind']; position: number; text: string }

const line = (value: AuditExportLine | Omit<AuditExportLine, 'signature'>): Line =>
  ({ kind: value.kind, position: value.position, text: canonicalJson(value) });

/** Metadata objects are shared per distinct text (event-codec's cache): spell each in canonical JSON once. */
const metadataText = new WeakMap<object, string>();

/**
 * `canonicalJson({ ...event, kind: 'event' })` spelled out in its sorted key order, without sorting or copying the
 * event: most of the export is these lines. The verifier's canonical-form check holds it to canonicalJson's spelling.
 */
function eventLine(e: HashedEvent): string {
  let metadata = metadataText.get(e.metadata);
  if (metadata === undefined) metadataText.set(e.metadata, (metadata = canonicalJson(e.metadata)));
  return `{"data":${canonicalJson(e.data)},"hash":"${e.hash}","kind":"event","metadata":${metadata},"position":${e.position},` +
    `"recordedAt":${JSON.stringify(e.recordedAt)},"streamId":${JSON.stringify(e.streamId)},"streamVersion":${e.streamVersion},` +
    `"tenantId":${JSON.stringify(e.tenantId)},"type":${JSON.stringify(e.type)}}`;
}

/** Whatever a checkpoint signs is at most this far behind it (a few group commits in practice). */
export const CHECKPOINT_REACH = 65_536;

/**
 * Turns the log, in position order, into a tenant's export lines (see AuditExportLine): its own events and every
 * checkpoint as they are hashed, those holding a secret redacted and signed, and everything else folded into
 * runs of hidden events that give only the chain hash after the run. A run is held until the next shown line, so
 * it can be split at the position a checkpoint signs (which every verifier must see); lines are canonical JSON.
 */
export class ExportLines {
  private run: ExportHiddenEvents | null = null;
  private started = false;
  private previous: { position: number; hash: string };
  /** Hashes of recent hidden positions, to split a run where a checkpoint signs. */
  private readonly recent = new PositionRing(CHECKPOINT_REACH);
  private readonly keyId: string;

  constructor(private readonly tenantId: string, start: { position: number; hash: string }, private readonly key: KeyObject) {
    this.previous = start;
    this.keyId = keyIdOf(key);
  }

  /** The lines this event releases (none while it extends a run of hidden events). */
  next(event: HashedEvent): Line[] {
    const previous = this.previous;
    this.previous = { position: event.position, hash: event.hash };
    const checkpoint = event.streamId === CHECKPOINT_STREAM;
    if (!checkpoint && event.tenantId !== this.tenantId) {
      // An export that begins with hidden events begins with their run: its hash is what confirms the start's.
      this.started = true;
      if (this.run) Object.assign(this.run, { position: event.position, hash: event.hash });
      else this.run = { kind: 'hash', from: event.position, position: event.position, hash: event.hash };
      this.recent.set(event.position, event.hash);
      return [];
    }
    const lines = this.begin(previous);
    lines.push(...this.flush(checkpoint ? (event.data as CheckpointSigned['data']).position : null));
    lines.push(this.shown(event, previous.hash));
    return lines;
  }

  /** The rest of a finite export: the pending run, and the signed end line. */
  finish(at: Date): Line[] {
    return [...this.begin(this.previous), ...this.flush(null), this.end(at)];
  }

  private begin(start: { position: number; hash: string }): Line[] {
    if (this.started) return [];
    this.started = true;
    return [line({ kind: 'start', position: start.position, hash: start.hash })];
  }

  private flush(splitAt: number | null): Line[] {
    const run = this.run;
    if (!run) return [];
    this.run = null;
    const splitHash = splitAt !== null && splitAt >= run.from && splitAt < run.position ? this.recent.get(splitAt) : undefined;
    if (splitAt === null || splitHash === undefined) return [line(run)];
    return [line({ ...run, position: splitAt, hash: splitHash }), line({ ...run, from: splitAt + 1 })];
  }

  /** The signed last line: the export ended at the last position it covered, with that hash. */
  private end(at: Date): Line {
    const unsigned: Omit<ExportEnd, 'signature'> = {
      kind: 'end', position: this.previous.position, hash: this.previous.hash, at: at.toISOString(), tenantId: this.tenantId, keyId: this.keyId,
    };
    return this.signed(unsigned);
  }

  private shown(event: HashedEvent, previousHash: string): Line {
    const data = event.data as Record<string, unknown> | null;
    const secrets = data !== null && typeof data === 'object' && !Array.isArray(data)
      ? Object.keys(data).filter((field) => SECRET_FIELDS.has(field)).sort() : [];
    if (secrets.length === 0) return { kind: 'event', position: event.position, text: eventLine(event) };
    const { hash, ...hashed } = event;
    // The server vouches only for what it has checked: the stored event really is the chain's at this position.
    if (chainHash(previousHash, hashed) !== hash) throw new ChainBrokenError(event.position);
    const unsigned: Omit<ExportRedactedEvent, 'signature'> = {
      ...hashed,
      data: Object.fromEntries(Object.entries(data!).filter(([field]) => !SECRET_FIELDS.has(field))),
      kind: 'redacted', redacted: secrets, previous: previousHash, hash, keyId: this.keyId,
    };
    return this.signed(unsigned);
  }

  private signed(unsigned: Omit<ExportRedactedEvent | ExportEnd, 'signature'>): Line {
    const signature = signText(this.key, exportLineMessage(canonicalJson(unsigned)));
    return line({ ...unsigned, signature } as AuditExportLine);
  }
}

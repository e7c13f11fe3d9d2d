import type { KeyObject } from 'node:crypto';
import { CHECKPOINT_STREAM, checkpointMessage, exportLineMessage } from '@meshgate/domain';
import { canonicalJson, chainHash, HashedFields } from '../event-store/hash-chain';
import { CHECKPOINT_REACH } from './export-lines';
import { keyIdOf, verifyText } from './checkpoint-signature';
import { PositionRing } from './position-ring';

export type Verdict =
  | { status: 'intact'; summary: Summary }
  /** `position`: the first position found bad; `from`: the first it may be (the run of hidden events before it). */
  | { status: 'tampered'; position: number; from: number; line: number; reason: string; summary: Summary }
  | { status: 'truncated'; reason: string; summary: Summary }
  /** A check asked for cannot be made on this export (a position it does not show). */
  | { status: 'unverifiable'; reason: string; summary: Summary };

export interface Summary {
  /** The positions covered: the start line's (exclusive) to the last line's. */
  first: number | null;
  last: number | null;
  events: number;
  redacted: number;
  hidden: number;
  checkpoints: number;
  /** The highest position a checkpoint in the log signed, if any. */
  lastCheckpoint: number | null;
  /** Checkpoints given from outside (`--checkpoint`) that matched. */
  outsideMatched: number[];
}

const HASH = /^[0-9a-f]{64}$/;
const KEYS = {
  start: ['hash', 'kind', 'position'],
  event: ['data', 'hash', 'kind', 'metadata', 'position', 'recordedAt', 'streamId', 'streamVersion', 'tenantId', 'type'],
  redacted: ['data', 'hash', 'keyId', 'kind', 'metadata', 'position', 'previous', 'recordedAt', 'redacted', 'signature', 'streamId',
    'streamVersion', 'tenantId', 'type'],
  hash: ['from', 'hash', 'kind', 'position'],
  end: ['at', 'hash', 'keyId', 'kind', 'position', 'signature', 'tenantId'],
} as const;

class Bad extends Error {
  constructor(readonly position: number, reason: string, readonly from = position) {
    super(reason);
  }
}

const isPosition = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks an export line by line, holding no more than a bounded window of it: every line in canonical form and of a
 * known shape; positions contiguous; each event's hash recomputed from the one before it; every hash the export
 * states confirmed by what follows (an event's recomputation, a redacted event's signed `previous`, a checkpoint, the
 * end line); every checkpoint's and vouched-for line's signature; the hashes given from outside. Stops at the
 * first bad line.
 */
export class ExportVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private previous: { position: number; hash: string } | null = null;
  /** The stated hash at `previous` that nothing has confirmed yet, and where the hidden run it ends began. */
  private unconfirmed: { position: number; from: number } | null = null;
  /** A run of hidden events ending at a position a checkpoint must still confirm (the run split for it). */
  private awaitingCheckpoint: { position: number; from: number } | null = null;
  private readonly shown = new PositionRing(CHECKPOINT_REACH);
  private ended = false;
  private readonly matched = new Set<number>();
  private failure: (Bad & { line: number }) | null = null;
  private lineNumber = 0;
  private readonly summary: Summary = {
    first: null, last: null, events: 0, redacted: 0, hidden: 0, checkpoints: 0, lastCheckpoint: null, outsideMatched: [],
  };

  constructor(keys: readonly KeyObject[], private readonly outside: ReadonlyMap<number, string> = new Map()) {
    for (const key of keys) this.keys.set(keyIdOf(key), key);
  }

  /** Feeds one line (without its newline); false once a bad line has been found. */
  line(text: string): boolean {
    if (this.failure) return false;
    this.lineNumber++;
    try {
      this.check(text);
    } catch (error) {
      if (!(error instanceof Bad)) throw error;
      this.failure = Object.assign(error, { line: this.lineNumber });
    }
    return this.failure === null;
  }

  /** `cutOff`: the input ended in the middle of a line. */
  finish(cutOff = false): Verdict {
    const summary = { ...this.summary, outsideMatched: [...this.matched].sort((a, b) => a - b) };
    if (this.failure) {
      const { position, from, line, message } = this.failure;
      return { status: 'tampered', position, from, line, reason: message, summary };
    }
    if (cutOff) return { status: 'truncated', reason: `the last line is cut off after position ${summary.last ?? 0}`, summary };
    if (this.previous === null) return { status: 'truncated', reason: 'the log is empty', summary };
    for (const [position] of this.outside) {
      if (position > this.previous.position) {
        return { status: 'truncated', reason: `the log ends at position ${this.previous.position}, before the checkpoint given at ${position}`, summary };
      }
      if (position < summary.first!) {
        return { status: 'truncated', reason: `the log starts after position ${summary.first}, past the checkpoint given at ${position}`, summary };
      }
    }
    for (const [position] of this.outside) {
      if (!this.matched.has(position)) {
        return { status: 'unverifiable', reason: `the export does not show position ${position} (other tenants' events): give a checkpoint's position`, summary };
      }
    }
    if (!this.ended) {
      return {
        status: 'truncated',
        reason: `no end line: the log stops at position ${this.previous.position} ` +
          (summary.lastCheckpoint === null ? '(no checkpoint in it)' : `(its last checkpoint signs position ${summary.lastCheckpoint})`),
        summary,
      };
    }
    return { status: 'intact', summary };
  }

  private check(text: string): void {
    const expected = this.previous ? this.previous.position + 1 : 0;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      throw new Bad(expected, 'the line is not JSON');
    }
    if (line === null || typeof line !== 'object' || Array.isArray(line)) throw new Bad(expected, 'the line is not a JSON object');
    const at = isPosition(line.position) ? line.position : expected;
    if (canonicalJson(line) !== text) throw new Bad(at, 'the line is not in canonical form (keys sorted, no spaces)');
    const kind = String(line.kind) as keyof typeof KEYS;
    if (!Object.hasOwn(KEYS, kind) || Object.keys(line).join() !== KEYS[kind].join()) throw new Bad(at, `not a line of the export (kind ${JSON.stringify(line.kind)})`);
    if (!isPosition(line.position) || typeof line.hash !== 'string' || !HASH.test(line.hash)) throw new Bad(at, 'bad position or hash');
    const position = line.position;
    const hash = line.hash;

    if (this.previous === null) {
      // An export begins with its start, or with hidden events right after it (their hash then confirms the start's).
      if (kind === 'start') {
        this.summary.first = position;
        return this.advance(position, hash, { position, from: position });
      }
      if (kind !== 'hash' || !isPosition(line.from) || line.from < 1) throw new Bad(0, 'the log does not begin with a start line');
      this.summary.first = line.from - 1;
    } else if (kind === 'start') {
      // Exports concatenated: a resumed one starts where the previous one ended.
      if (position === this.previous.position && hash === this.previous.hash) return;
      throw new Bad(expected, `a start line at ${position} in the middle of the log`);
    }
    const previous = this.previous;
    if (kind === 'end') {
      this.verifySigned(line, position);
      if (!previous || position !== previous.position) throw new Bad(expected, `the end line says the log ends at ${position}`);
      if (hash !== previous.hash) throw new Bad(position, 'the end line signs another hash at this position', this.unconfirmed?.from ?? position);
      this.settle();
      this.unconfirmed = null;
      this.ended = true;
      return;
    }
    this.ended = false;
    const from = kind === 'hash' ? line.from : position;
    if (previous && from !== expected) {
      throw new Bad(expected, isPosition(from) && from > expected ? `positions ${expected}..${from - 1} are missing` : `position ${String(from)} is out of order`);
    }
    if (kind === 'hash') {
      if (!isPosition(line.from) || position < line.from) throw new Bad(at, 'a run of hidden events that ends before it begins');
      // A run's hash is confirmed by the line after it; when that is another run (split where a checkpoint signs),
      // only that checkpoint can confirm it.
      if (this.unconfirmed) {
        if (this.awaitingCheckpoint) throw new Bad(this.awaitingCheckpoint.position, 'nothing confirms the hash at this position', this.awaitingCheckpoint.from);
        this.awaitingCheckpoint = this.unconfirmed;
      }
      this.summary.hidden += position - line.from + 1;
      return this.advance(position, hash, { position, from: line.from });
    }
    const confirmedFrom = this.unconfirmed?.from ?? position;
    if (kind === 'redacted') {
      this.verifySigned(line, position);
      if (line.previous !== previous!.hash) throw new Bad(position, 'the redacted event was signed after another hash than the one before it', confirmedFrom);
      this.summary.redacted++;
    } else {
      const fields = { ...line };
      delete fields.kind;
      delete fields.hash;
      if (chainHash(previous!.hash, fields as unknown as HashedFields) !== hash) throw new Bad(position, "the event's hash does not follow from the hash before it", confirmedFrom);
      this.summary.events++;
      if (line.streamId === CHECKPOINT_STREAM) this.checkpoint(line, position);
    }
    this.settle();
    this.advance(position, hash, null);
  }

  /** A line other than a run: a run's hash still waiting for its checkpoint will not get one now. */
  private settle(): void {
    if (this.awaitingCheckpoint) throw new Bad(this.awaitingCheckpoint.position, 'nothing confirms the hash at this position', this.awaitingCheckpoint.from);
  }

  private advance(position: number, hash: string, unconfirmed: { position: number; from: number } | null): void {
    const given = this.outside.get(position);
    if (given !== undefined) {
      if (given !== hash) {
        throw new Bad(position, `the hash at ${position} is not the checkpoint's given from outside: the log was rewritten at or before it`,
          this.summary.first! + 1);
      }
      this.matched.add(position);
    }
    this.previous = { position, hash };
    this.unconfirmed = unconfirmed;
    this.shown.set(position, hash);
    this.summary.last = position;
  }

  private checkpoint(line: Record<string, unknown>, at: number): void {
    const data = line.data as Record<string, unknown>;
    if (line.type !== 'CheckpointSigned' || data === null || typeof data !== 'object' || !isPosition(data.position) ||
      typeof data.hash !== 'string' || typeof data.keyId !== 'string' || typeof data.signature !== 'string') {
      throw new Bad(at, 'not a checkpoint');
    }
    const key = this.keys.get(data.keyId);
    if (!key) throw new Bad(at, `the checkpoint is signed by key ${data.keyId}, not by the key given`);
    if (!verifyText(key, checkpointMessage(data.position, data.hash), data.signature)) throw new Bad(at, "the checkpoint's signature does not verify");
    if (data.position >= at) throw new Bad(at, 'the checkpoint signs a position after itself');
    this.summary.checkpoints++;
    this.summary.lastCheckpoint = Math.max(this.summary.lastCheckpoint ?? 0, data.position);
    const stated = this.shown.get(data.position);
    if (stated === undefined && data.position <= this.summary.first!) return; // before this export began
    if (stated === undefined) {
      throw new Bad(data.position, `the export does not show position ${data.position}, which the checkpoint at ${at} signs`);
    }
    if (stated !== data.hash) {
      throw new Bad(data.position, `the hash at ${data.position} is not the one the checkpoint at ${at} signed: the log was rewritten at or before it`,
        this.summary.first! + 1);
    }
    if (this.awaitingCheckpoint?.position === data.position) this.awaitingCheckpoint = null;
  }

  private verifySigned(line: Record<string, unknown>, at: number): void {
    const key = typeof line.keyId === 'string' ? this.keys.get(line.keyId) : undefined;
    if (!key) throw new Bad(at, `the line is signed by key ${String(line.keyId)}, not by the key given`);
    const { signature, ...unsigned } = line;
    if (typeof signature !== 'string' || !verifyText(key, exportLineMessage(canonicalJson(unsigned)), signature)) {
      throw new Bad(at, "the line's signature does not verify");
    }
  }
}

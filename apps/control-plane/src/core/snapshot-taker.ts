import { Logger } from '@nestjs/common';
import type { RecordedEvent } from '@meshgate/domain';
import { ProjectionRunner } from '../projections/projection-runner';
import { Reactor } from '../projections/view';
import { Leadership } from '../storage/database.port';

/**
 * Snapshots the views every N events (on the leading replica; the others would store the same state) and when the
 * leader stops, so that any replica starts from a recent snapshot and replays only the tail.
 */
export class SnapshotTaker implements Reactor {
  private readonly logger = new Logger(SnapshotTaker.name);
  private lastPosition = 0;
  private saving: Promise<void> | null = null;
  private stopped = false;

  /** `snapshotPosition`: where the views started from (0: replayed from nothing, so the next stop snapshots them). */
  constructor(
    private readonly runner: ProjectionRunner, private readonly leadership: Leadership, private readonly everyEvents: number,
    snapshotPosition: number,
  ) {
    this.lastPosition = snapshotPosition;
    runner.views.subscribe(this);
  }

  react(events: readonly RecordedEvent[]): void {
    const position = events[events.length - 1]?.position ?? 0;
    if (this.stopped || this.saving || position - this.lastPosition < this.everyEvents || !this.leadership.isLeader()) return;
    this.saving = this.save().finally(() => (this.saving = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.saving;
    if (this.leadership.isLeader() && this.runner.views.position > this.lastPosition) await this.save();
  }

  private async save(): Promise<void> {
    // Taken synchronously (one consistent position); stored asynchronously.
    const snapshot = this.runner.views.snapshot();
    try {
      await this.runner.snapshots.save(snapshot, new Date());
      this.lastPosition = snapshot.position;
    } catch (error) {
      this.logger.warn(`view snapshot at ${snapshot.position} not stored: ${(error as Error).message}`);
    }
  }
}

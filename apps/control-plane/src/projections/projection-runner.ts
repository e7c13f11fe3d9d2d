import type { RecordedEvent } from '@meshgate/domain';
import { CommitParticipant, EventStore } from '../event-store/event-store.port';
import { Database, Transaction } from '../storage/database.port';
import { InlineProjections } from './inline-projections';
import { ViewFeeder } from './view-feeder';
import { ViewSnapshots } from './view-snapshots';

/**
 * The three kinds of projection around the log: inline ones inside the append transaction, views after it (fed in
 * position order from this replica's commits and, through the store's announcements, every other replica's), and
 * the reactors the feeder calls after the views. Started from the newest snapshot of the views.
 */
export class ProjectionRunner implements CommitParticipant {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly inline: InlineProjections,
    readonly views: ViewFeeder,
    readonly snapshots: ViewSnapshots,
    private readonly onCommitted: (events: readonly RecordedEvent[], batchSize: number) => void = () => undefined,
  ) {}

  /** The position of the snapshot the views started from (0: none). */
  startedFrom = 0;

  /** Inline projections to the head, views from their snapshot to the head; then live. */
  async start(): Promise<{ inlineApplied: number; viewsApplied: number; snapshotPosition: number }> {
    const inlineApplied = await this.inline.start();
    const snapshot = await this.snapshots.latest();
    const viewsApplied = await this.views.start(snapshot ?? undefined);
    this.store.setParticipant(this);
    await this.db.onAnnounce(() => void this.views.catchUp());
    this.startedFrom = snapshot?.position ?? 0;
    return { inlineApplied, viewsApplied, snapshotPosition: this.startedFrom };
  }

  applyInTransaction(tx: Transaction, events: readonly RecordedEvent[]): Promise<void> {
    return this.inline.apply(tx, events);
  }

  beforeCommit(tx: Transaction, position: number): Promise<void> {
    return this.inline.writeCheckpoints(tx, position);
  }

  async afterCommit(events: readonly RecordedEvent[], batchSize: number): Promise<void> {
    if (events.length > 0) this.inline.committed(events[events.length - 1].position);
    this.onCommitted(events, batchSize);
    await this.views.feed(events);
  }
}

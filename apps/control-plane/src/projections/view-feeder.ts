import type { RecordedEvent } from '@meshgate/domain';
import { EventStore } from '../event-store/event-store.port';
import { Reactor, View } from './view';

/**
 * Feeds the views every committed event in position order, then the reactors: the local commit directly when it
 * follows what the views have seen, anything else (another replica's commits, a missed notification, start-up) by
 * reading the log from the views' position. Feeds run one at a time; requests for a catch-up while one is running
 * coalesce into one more.
 */
export class ViewFeeder {
  private seen = 0;
  private tail: Promise<void> = Promise.resolve();
  private catchUpQueued: Promise<void> | null = null;

  private readonly reactors: Reactor[];

  /**
   * `sharedLog`: other processes append to this log (PostgreSQL replicas). When nothing but this process writes
   * (SQLite), every commit is fed here before it is acknowledged, so a catch-up only waits for the feeds in flight
   * instead of querying the log on every request that asks for one.
   */
  constructor(
    private readonly store: EventStore, readonly views: readonly View[], reactors: readonly Reactor[], private readonly sharedLog = true,
  ) {
    this.reactors = [...reactors];
  }

  /** Adds a reactor (a capability's own, such as the scheduler's re-planning). */
  subscribe(reactor: Reactor): void {
    this.reactors.push(reactor);
  }

  /** The last position every view has applied. */
  get position(): number {
    return this.seen;
  }

  /** Starts the views from a snapshot taken at `position` (or empty), then catches up. */
  async start(snapshot?: { position: number; state: Record<string, unknown> }): Promise<number> {
    for (const view of this.views) view.restore(snapshot?.state[view.name]);
    this.seen = snapshot?.position ?? 0;
    const before = this.seen;
    await this.run(() => this.readTail());
    return this.seen - before;
  }

  /** The state of every view at `position`, to be stored as a snapshot. */
  snapshot(): { position: number; state: Record<string, unknown> } {
    return { position: this.seen, state: Object.fromEntries(this.views.map((v) => [v.name, v.snapshot()])) };
  }

  /** Events this replica just committed. */
  feed(committed: readonly RecordedEvent[]): Promise<void> {
    if (committed.length === 0) return this.tail;
    return this.run(async () => {
      if (committed[committed.length - 1].position <= this.seen) return;
      if (committed[0].position === this.seen + 1) this.applyAll(committed);
      else await this.readTail();
    });
  }

  /** Brings the views to the head of the log. */
  catchUp(): Promise<void> {
    if (!this.sharedLog) return this.tail;
    this.catchUpQueued ??= this.run(async () => {
      this.catchUpQueued = null;
      await this.readTail();
    });
    return this.catchUpQueued;
  }

  private run(work: () => Promise<void>): Promise<void> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Reactors see a catch-up a page of the log at a time. */
  private async readTail(): Promise<void> {
    for await (const page of this.store.readPages(this.seen)) this.applyAll(page);
  }

  private applyAll(events: readonly RecordedEvent[]): void {
    for (const event of events) {
      for (const view of this.views) view.apply(event);
      this.seen = event.position;
    }
    for (const reactor of this.reactors) reactor.react(events);
  }
}

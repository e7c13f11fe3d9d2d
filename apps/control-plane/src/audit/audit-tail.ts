import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@meshgate/domain';
import { Observable, Subject } from 'rxjs';
import { Reactor } from '../projections/view';
import { ViewFeeder } from '../projections/view-feeder';

/**
 * Tells the live audit streams that the log grew (any replica's commits, in position order, as the views see them):
 * each stream then reads the log from where it is, so every stream resumes, catches up and follows the same way.
 */
@Injectable()
export class AuditTail implements Reactor, BeforeApplicationShutdown {
  private readonly grew = new Subject<number>();

  constructor(views: ViewFeeder) {
    views.subscribe(this);
  }

  react(events: readonly RecordedEvent[]): void {
    if (events.length > 0) this.grew.next(events[events.length - 1].position);
  }

  get positions(): Observable<number> {
    return this.grew.asObservable();
  }

  /** Hijacked SSE responses would keep the HTTP server from closing: end them first. */
  beforeApplicationShutdown(): void {
    this.grew.complete();
  }
}

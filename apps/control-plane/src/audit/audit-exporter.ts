import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@meshgate/domain';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../policies/clock';
import { ExportLines } from './export-lines';

/** Lines are sent in chunks of about this many characters (one write per chunk, not per line). */
const CHUNK = 256 * 1024;

/** The tenant's export of the log (see ExportLines), read a page at a time: never the whole log in memory. */
@Injectable()
export class AuditExporter {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The chain hash after `from`, where an export or stream starts; refused unless `from` is a position of the log. */
  async startAt(from: number): Promise<{ position: number; hash: string }> {
    const hash = await this.store.hashAt(from);
    if (hash === null) {
      const head = await this.store.head();
      throw new DomainError('POSITION_NOT_IN_LOG', 'INVALID', `from must be a position of the log, 0 to ${head.position}; got ${from}`);
    }
    return { position: from, hash };
  }

  lines(tenantId: string, start: { position: number; hash: string }): ExportLines {
    return new ExportLines(tenantId, start, this.config.checkpointSigningKey);
  }

  /** The export from `start` to the head as it is now, ending with the signed end line: NDJSON text chunks. */
  async *export(tenantId: string, start: { position: number; hash: string }): AsyncGenerator<string> {
    const end = (await this.store.head()).position;
    const lines = this.lines(tenantId, start);
    let chunk = '';
    pages: for await (const page of this.store.readHashedPages(start.position)) {
      for (const event of page) {
        if (event.position > end) break pages;
        for (const line of lines.next(event)) chunk += line.text + '\n';
        if (chunk.length >= CHUNK) {
          yield chunk;
          chunk = '';
        }
      }
    }
    for (const line of lines.finish(this.clock.now())) chunk += line.text + '\n';
    yield chunk;
  }
}

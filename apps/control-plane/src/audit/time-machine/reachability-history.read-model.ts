import { Inject, Injectable } from '@nestjs/common';
import { DomainError, RecordedEvent, TenantHistory, userScope, usersNamedBy } from '@meshgate/domain';
import { decodeEvent, EVENT_COLUMNS, EventRow } from '../../event-store/event-codec';
import { DATABASE, Database } from '../../storage/database.port';
import { CLOCK, Clock } from '../../policies/clock';

/** User scopes asked for in one statement. */
const SCOPES_PER_QUERY = 500;

/**
 * A tenant's reachability history as the log holds it: its reachability events (found through the
 * reachability-events projection, joined back to the log) and its members' user events, in log order — never
 * today's read models. Folding them is the domain's TenantHistory.
 */
@Injectable()
export class ReachabilityHistoryReadModel {
  constructor(@Inject(DATABASE) private readonly db: Database, @Inject(CLOCK) private readonly clock: Clock) {}

  /** The instant of a query parameter, refused (400 naming the field) when it is still to come. */
  instant(field: string, text: string): Date {
    const at = new Date(text);
    if (at.getTime() > this.clock.now().getTime()) {
      throw new DomainError('INSTANT_IN_FUTURE', 'INVALID', `${field} is in the future: the log does not know it yet`);
    }
    return at;
  }

  /** The tenant's reachability events recorded at or before `until`, in log order. */
  async events(tenantId: string, until: Date): Promise<RecordedEvent[]> {
    const ms = until.getTime();
    const own = await this.scoped([tenantId], ms);
    const users = usersNamedBy(own).map(userScope);
    const theirs: RecordedEvent[] = [];
    for (let i = 0; i < users.length; i += SCOPES_PER_QUERY) theirs.push(...await this.scoped(users.slice(i, i + SCOPES_PER_QUERY), ms));
    if (!theirs.length) return own;
    return [...own, ...theirs].sort((a, b) => a.position - b.position);
  }

  /** The tenant folded up to `until`. */
  async at(tenantId: string, until: Date): Promise<TenantHistory> {
    return fold(tenantId, await this.events(tenantId, until));
  }

  private async scoped(scopes: string[], untilMs: number): Promise<RecordedEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM reachability_events r JOIN events e ON e.position = r.position JOIN streams s ON s.ref = e.stream_ref
       WHERE r.scope IN (${scopes.map(() => '?').join(', ')}) AND r.recorded_at <= ? ORDER BY r.position`, [...scopes, untilMs]);
    return rows.map(decodeEvent);
  }
}

export function fold(tenantId: string, events: Iterable<RecordedEvent>): TenantHistory {
  const history = new TenantHistory(tenantId);
  for (const event of events) history.apply(event);
  return history;
}

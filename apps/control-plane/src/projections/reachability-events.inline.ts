import { reachabilityScope, RecordedEvent } from '@meshgate/domain';
import { SqlExecutor } from '../storage/database.port';
import { InlineProjection } from './inline-projection';

/**
 * Where each tenant's reachability history sits in the log: the positions (and times) of the events that change who
 * may reach what — policy versions, schedule windows, registrations, retags, removals, route approvals, key expiry
 * and rotation, memberships — keyed by tenant, and by `user:<id>` for a user's email and IdP groups. The audit time
 * machine folds only these, joined back to the log, so a question about the past costs the tenant's few such events
 * rather than a scan of the heartbeats that make up nearly all of the log. An inline projection rather than an index
 * on the log: a row is written for these rare events only, so a heartbeat's append pays nothing for it.
 */
export class ReachabilityEventsProjection implements InlineProjection {
  readonly name = 'reachability-events';
  readonly tables = ['reachability_events'];

  async apply(event: RecordedEvent, sql: SqlExecutor): Promise<void> {
    const scope = reachabilityScope(event);
    if (scope === null) return;
    await sql.execute('INSERT INTO reachability_events (scope, position, recorded_at) VALUES (?, ?, ?)',
      [scope, event.position, Date.parse(event.recordedAt)]);
  }
}

import type { RecordedEvent } from '@meshgate/domain';
import { EventStore } from './event-store.port';

/** Loads a (short) stream and folds it with the aggregate's evolve: the state and version a decider works on. */
export async function loadAggregate<S, E>(
  store: EventStore, streamId: string, evolve: (state: S, event: E) => S, initial: S,
): Promise<{ state: S; version: number }> {
  const events = await store.readStream(streamId);
  const state = events.reduce((s, e: RecordedEvent) => evolve(s, { type: e.type, data: e.data } as E), initial);
  return { state, version: events.length === 0 ? 0 : events[events.length - 1].streamVersion };
}

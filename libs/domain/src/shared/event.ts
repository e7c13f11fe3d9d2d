/** A domain event as decided: plain data with a fixed stored name. */
export interface Event<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

export type Actor = { kind: 'user' | 'node' | 'system'; id: string };

/** An event as the log returns it: where it sits, who caused it and when it was recorded. */
export interface RecordedEvent<E extends Event = Event> {
  position: number;
  tenantId: string | null;
  streamId: string;
  streamVersion: number;
  type: E['type'];
  data: E['data'];
  metadata: { actor: Actor; correlationId?: string; requestId?: string };
  recordedAt: string;
}

export interface DecideContext {
  now: Date;
}

/**
 * Where handlers, guards and jobs read the time their decisions use (the log's own recordedAt is the store's). The
 * system clock in production; a manual one in tests, moved by PUT /api/v1/test-clock, so schedule windows open and
 * close, nodes go offline and keys expire on command instead of by sleeping.
 */
export interface Clock {
  readonly manual: boolean;
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export class SystemClock implements Clock {
  readonly manual = false;
  now(): Date {
    return new Date();
  }
}

export class ManualClock implements Clock {
  readonly manual = true;
  private current: Date;

  constructor(start = new Date()) {
    this.current = start;
  }

  now(): Date {
    return new Date(this.current.getTime());
  }

  set(at: Date): void {
    this.current = new Date(at.getTime());
  }
}

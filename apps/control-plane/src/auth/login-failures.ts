import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/** Failures older than this no longer count against the account. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
/** Past this many accounts tracked, forget those with no failure left in the window (bounds memory under spraying). */
const SWEEP_ABOVE = 10_000;

/**
 * Failed logins per account, from whatever address: a per-address limit alone lets a botnet guess one password from
 * many addresses. Unknown emails are counted like known ones, so a refusal says nothing about who is registered.
 * An attempt counts as a failure from the moment it starts until it succeeds, so a burst of parallel guesses cannot
 * all pass the check before the first of them fails. In memory, per replica, in wall-clock time like the throttler.
 */
@Injectable()
export class LoginFailures {
  private readonly failures = new Map<string, number[]>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Seconds until the account may try again, or 0 when it may now. */
  retryAfterSeconds(account: string, now = Date.now()): number {
    const recent = this.recent(account, now);
    if (recent.length < this.config.loginFailureLimit) return 0;
    return Math.ceil((recent[recent.length - this.config.loginFailureLimit] + LOGIN_FAILURE_WINDOW_MS - now) / 1000);
  }

  countAttempt(account: string, now = Date.now()): void {
    if (this.failures.size > SWEEP_ABOVE) {
      for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
    }
    this.failures.set(account, [...this.recent(account, now), now].slice(-this.config.loginFailureLimit));
  }

  succeeded(account: string): void {
    this.failures.delete(account);
  }

  private recent(account: string, now: number): number[] {
    return (this.failures.get(account) ?? []).filter((at) => at > now - LOGIN_FAILURE_WINDOW_MS);
  }
}

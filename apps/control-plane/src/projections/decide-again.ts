import { ConcurrencyError } from '../event-store/concurrency.error';
import { ViewFeeder } from './view-feeder';

const MAX_ATTEMPTS = 5;

/**
 * Runs "read the views, decide, append" again when the append lost a race on its stream (ConcurrencyError) — the other
 * writer may be another replica, so the views are caught up with the log first, and the decision is taken on the
 * state the log now holds. `lostRace` widens what counts as such a race; after `attempts` the last error stands.
 */
export async function decideAgainOnRace<T>(
  views: ViewFeeder,
  work: () => Promise<T>,
  options: { attempts?: number; lostRace?: (error: unknown) => boolean; beforeRetry?: (attempt: number) => Promise<void> } = {},
): Promise<T> {
  const attempts = options.attempts ?? MAX_ATTEMPTS;
  const lostRace = options.lostRace ?? ((error: unknown) => error instanceof ConcurrencyError);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!lostRace(error) || attempt >= attempts) throw error;
      await options.beforeRetry?.(attempt);
      await views.catchUp();
    }
  }
}

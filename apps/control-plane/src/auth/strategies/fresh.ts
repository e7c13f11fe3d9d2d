import type { ViewFeeder } from '../../projections/view-feeder';

/**
 * A check that fails on this replica's views is asked again once they have caught up with the log: the write it
 * depends on (a registration, a membership) may have been taken by another replica a moment ago.
 */
export async function fresh<T>(views: ViewFeeder, check: () => T | Promise<T>): Promise<T> {
  const first = await check();
  if (first) return first;
  await views.catchUp();
  return check();
}

/**
 * Given/when/then for deciders: `given([registered]).when(heartbeat).then([recorded])` or `.thenThrows('CODE')`.
 * State is folded from the given events with the aggregate's own evolve, so specs exercise both functions.
 */
import { DomainError } from '../shared/domain-error';

export function deciderSpec<C, E, S>(
  decide: (command: C, state: S, ctx: { now: Date }) => E[],
  evolve: (state: S, event: E) => S,
  initial: S,
  now: Date = new Date('2026-01-01T00:00:00.000Z'),
) {
  return (given: E[]) => ({
    when: (command: C) => {
      const run = () => decide(command, given.reduce(evolve, initial), { now });
      return {
        then: (expected: E[]) => expect(run()).toEqual(expected),
        thenThrows: (code: string) => {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
        },
      };
    },
  });
}

import { checkpointDue } from './checkpoint-signer';

describe('when a checkpoint is due', () => {
  const limits = { everyEvents: 100, everyMinutes: 60 };
  const last = { eventPosition: 1000, at: Date.parse('2026-12-01T10:00:00Z') };
  const at = (iso: string) => Date.parse(iso);

  it('after the count of events since the last checkpoint', () => {
    expect(checkpointDue(last, 1099, at('2026-12-01T10:01:00Z'), limits)).toBe(false);
    expect(checkpointDue(last, 1100, at('2026-12-01T10:01:00Z'), limits)).toBe(true);
  });

  it('after the time since the last checkpoint, if the log grew', () => {
    expect(checkpointDue(last, 1001, at('2026-12-01T10:59:59.999Z'), limits)).toBe(false);
    expect(checkpointDue(last, 1001, at('2026-12-01T11:00:00Z'), limits)).toBe(true);
  });

  it('never for a log that holds nothing after the last checkpoint itself', () => {
    expect(checkpointDue(last, 1000, at('2026-12-02T10:00:00Z'), limits)).toBe(false);
    expect(checkpointDue({ eventPosition: 0, at: last.at }, 0, at('2026-12-02T10:00:00Z'), limits)).toBe(false);
  });
});

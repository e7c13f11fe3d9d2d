import { isTimestamp } from './timestamp.decorator';

describe('isTimestamp', () => {
  it.each([
    '2024-01-31', '2024-02-29', '0050-06-01', '2024-01-31T09:00Z', '2024-01-31T09:00:00Z', '2024-01-31T09:00:00.123Z',
    '2024-01-31T09:00:00.123456789+01:00', '2024-01-31T23:59:59-05:30',
  ])('takes %s, which new Date() reads', (value) => {
    expect(isTimestamp(value)).toBe(true);
    expect(Number.isNaN(new Date(value).getTime())).toBe(false);
  });

  it.each([
    '2020-W01', '2020-W01-1', '2020W01', '2020-001', '2020001', '20240131', '2024-01', '2024',
    '2024-01-31T09:00:00', '2024-01-31T09:00', '2024-01-31 09:00:00Z', '2024-01-31t09:00:00z', '2024-01-31T24:00:00Z',
    '2024-01-31T09:60:00Z', '2024-01-31T09:00:60Z', '2024-01-31T09:00:00+0100', '2024-01-31T09:00:00+24:00',
    '2021-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '+002024-01-31', 'yesterday', '', ' 2024-01-31',
  ])('refuses %s', (value) => {
    expect(isTimestamp(value)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [null, undefined, 0, new Date(), ['2024-01-31']]) expect(isTimestamp(value)).toBe(false);
  });
});

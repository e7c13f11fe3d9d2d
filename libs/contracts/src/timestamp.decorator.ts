import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * The forms of ISO 8601 that `new Date()` reads the same way on every engine and in every time zone: a calendar date
 * (`2024-01-31`, midnight UTC) or a date-time with seconds optional and a zone required (`2024-01-31T09:00:00Z`,
 * `2024-01-31T09:00:00.123+01:00`). class-validator's IsISO8601 also takes week dates (`2020-W01`) and ordinal dates
 * (`2020-001`), which `new Date()` cannot read or reads as something else, and zone-less date-times, which it reads in
 * the server's local time.
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;

export function isTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = TIMESTAMP.exec(value);
  if (!match || Number.isNaN(Date.parse(value))) return false;
  // A real calendar day: no 2021-02-29, no month 13 (which some engines roll over into the next month or year).
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export const IsTimestamp = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: (value) => isTimestamp(value),
      defaultMessage: buildMessage(
        (each) => `${each}$property must be a date (2024-01-31) or a date-time with a zone (2024-01-31T09:00:00Z)`, options,
      ),
    },
  }, options);

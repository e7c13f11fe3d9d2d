/** Commander option parsers: a bad value is a usage error (exit 2) naming the option, before anything is sent. */
import { InvalidArgumentError } from 'commander';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `12h`, `7d`, or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^([0-9]{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 12h or 7d');
  return Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
}

/** A whole number, 1 or more. */
export function parsePositiveInt(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return Number(text);
}

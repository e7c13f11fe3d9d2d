/**
 * What `meshgate` exits with, for scripts to branch on (documented in README.md and in `meshgate --help`).
 * HTTP statuses map onto them in api-client.ts.
 */
export const ExitCode = {
  OK: 0,
  /** Anything else, a declined confirmation included. */
  FAILED: 1,
  /** Bad arguments or options: nothing was sent. */
  USAGE: 2,
  /** Not logged in, a wrong password, an expired or revoked credential, or a role that may not do this (401, 403). */
  AUTH: 3,
  /** No such node, key or other resource in the tenant (404). */
  NOT_FOUND: 4,
  /** A conflict (409), or the policy changed since it was read (412). */
  CONFLICT: 5,
  /** The server refused the input: invalid fields, an invalid policy, failing policy tests (400, 413, 422). */
  REFUSED: 6,
  /** The server could not be reached, is not ready, or failed (5xx, 429). */
  UNAVAILABLE: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other failure (a declined confirmation included)
  2  usage error (bad arguments or options)
  3  authentication: not logged in, wrong password, expired or revoked credential, role not allowed
  4  not found
  5  conflict (409), or the policy changed since it was previewed (412)
  6  refused by the server: invalid input, invalid policy, failing policy tests
  7  server unreachable, not ready or failing (5xx, 429)`;

/** An expected failure: its message (and details, one per line) go to stderr, and the process exits with `code`. */
export class CliError extends Error {
  constructor(readonly code: ExitCode, message: string, readonly details: readonly string[] = []) {
    super(message);
  }
}

/**
 * An expected refusal. The code is stable and maps to an HTTP status at the API edge:
 * NOT_FOUND → 404, CONFLICT → 409, FORBIDDEN → 403, UNAUTHORIZED → 401, PRECONDITION_FAILED → 412, INVALID → 422/400.
 */
export type DomainErrorKind = 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'PRECONDITION_FAILED' | 'INVALID';

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: DomainErrorKind,
    message: string,
    readonly details?: string[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

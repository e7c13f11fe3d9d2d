/** Another writer appended to the stream since it was read. The API answers 409; the caller may retry. */
export class ConcurrencyError extends Error {
  constructor(readonly streamId: string, readonly expected: number, readonly actual: number) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}`);
    this.name = 'ConcurrencyError';
  }
}

/**
 * Every refusal's body: Nest's shape (validation failures list each field's message), plus a stable `code` for the
 * domain's refusals (`PUBLIC_KEY_TAKEN`, `LAST_OWNER`, `DATABASE_BUSY`, ...). 429 and 503 also send `Retry-After`.
 */
export interface ApiError {
  statusCode: number;
  /** What was refused and why; a list when several fields (or JSON paths of a policy) are at fault. */
  message: string | string[];
  /** The status's reason phrase ("Bad Request"). */
  error: string;
  code?: string;
}

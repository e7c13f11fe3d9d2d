/** `GET /health/live`: the process answers. */
export interface LiveView { status: 'ok' }

/** `GET /health` and `/health/ready` (the body of their 503 too, as its `message`). */
export interface HealthView {
  status: 'ok' | 'unavailable';
  database: 'ok' | 'unavailable';
  storage: 'ok' | 'full';
  /** Free bytes in the SQLite file's directory (null on PostgreSQL). */
  freeBytes: number | null;
  /** The running build's version (the repository's package.json). */
  version: string;
}

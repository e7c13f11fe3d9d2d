import { currentSession, endSession } from './session';

/** The API's error shape: `message` is one text or a list (one entry per bad field or failing policy test). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly messages: string[], readonly code: string | undefined) {
    super(messages.join('; '));
  }
}

export interface ApiReply<T> { status: number; body: T; headers: Headers }

export interface CallOptions {
  body?: unknown;
  /** Sent as is, with this content type (a HuJSON policy). */
  text?: { body: string; contentType: string };
  headers?: Record<string, string>;
  /** Without the signed-in session's token (login). */
  anonymous?: boolean;
}

/** Called when the session's token is refused: the shell sends the user to the login page. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiReply<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const session = options.anonymous ? null : currentSession();
  if (session) headers.authorization = `Bearer ${session.token}`;
  let body: string | undefined;
  if (options.text) {
    body = options.text.body;
    headers['content-type'] = options.text.contentType;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  // application/json only: a HuJSON policy (application/hujson) is text for the editor.
  const parsed: unknown = /^application\/json\b/.test(type) && text !== '' ? JSON.parse(text) : text;
  if (!response.ok) {
    if (response.status === 401 && session) {
      endSession();
      onUnauthorized();
    }
    const error = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { message?: string | string[]; code?: string };
    const messages = Array.isArray(error.message) ? error.message : [error.message ?? (text || response.statusText)];
    throw new ApiError(response.status, messages, error.code);
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

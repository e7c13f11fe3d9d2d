import { CliError, ExitCode } from './exit-codes';

/** A request that hangs this long fails as unreachable. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiRequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ApiReply<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Supplies the bearer token, and a fresh one when the server refuses it (or throws a CliError saying why not). */
export interface TokenSource {
  token(): Promise<string>;
  renew(): Promise<string>;
}

/** The control plane's error shape (Nest's, with the domain error's `code`). */
interface ErrorBody {
  statusCode?: number;
  message?: unknown;
  error?: string;
  code?: string;
}

/**
 * HTTP to one control plane. Failures become CliErrors whose exit code says what kind of failure it was; a refused
 * token is renewed once (the session asks for the password again) before the request is given up.
 */
export class ApiClient {
  constructor(readonly server: string, private readonly tokens: TokenSource | null) {}

  async request<T>(method: string, path: string, options: ApiRequestOptions = {}): Promise<ApiReply<T>> {
    let reply = await this.send(method, path, options, this.tokens ? await this.tokens.token() : null);
    if (reply.status === 401 && this.tokens) reply = await this.send(method, path, options, await this.tokens.renew());
    if (reply.status >= 400) throw httpError(reply.status, reply.body as ErrorBody | string);
    return reply as ApiReply<T>;
  }

  /** Without throwing on an error status (health answers 503 with a body worth showing). */
  async probe<T>(method: string, path: string): Promise<ApiReply<T>> {
    return (await this.send(method, path, {}, null)) as ApiReply<T>;
  }

  private async send(method: string, path: string, options: ApiRequestOptions, token: string | null): Promise<ApiReply<unknown>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.text !== undefined) {
      body = options.text;
      headers['content-type'] = options.contentType ?? 'text/plain';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(this.server + path, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new CliError(ExitCode.UNAVAILABLE, `cannot reach ${this.server}: ${reason(error)}`);
    }
    const text = await response.text();
    const isJson = (response.headers.get('content-type') ?? '').includes('application/json') && text !== '';
    let parsed: unknown = text;
    if (isJson) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(ExitCode.UNAVAILABLE, `${this.server} answered ${method} ${path} with invalid JSON (status ${response.status})`);
      }
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }
}

export function exitCodeOf(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status === 404) return ExitCode.NOT_FOUND;
  if (status === 409 || status === 412) return ExitCode.CONFLICT;
  if (status === 429 || status >= 500) return ExitCode.UNAVAILABLE;
  if (status >= 400) return ExitCode.REFUSED;
  return ExitCode.FAILED;
}

/** The server's message as the error's; a list of messages (fields, JSON paths, failing tests) as its details, one a line. */
export function httpError(status: number, body: ErrorBody | string): CliError {
  const shape: ErrorBody = typeof body === 'object' && body !== null ? body : { message: body };
  const label = [String(status), shape.error, shape.code ? `(${shape.code})` : undefined].filter(Boolean).join(' ');
  if (Array.isArray(shape.message)) return new CliError(exitCodeOf(status), `${label}:`, shape.message.map(String));
  const message = typeof shape.message === 'string' ? shape.message : shape.message !== undefined ? JSON.stringify(shape.message) : '';
  return new CliError(exitCodeOf(status), message ? `${message} [${label}]` : label);
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

import { request } from 'node:http';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/**
 * Speaks HTTP to the control plane through a Unix socket. The control plane lives in the hub namespace, which the
 * test process cannot reach over IP; a socket file is visible from every namespace, and a forwarder in the hub
 * joins it to the control plane's port. The test thus touches no network of the host.
 */
export class AdminApi {
  token: string | null = null;

  constructor(private readonly socketPath: string) {}

  /** `text`, when given, is sent as the body with Content-Type application/hujson (policies written by hand). */
  call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, text?: string): Promise<ApiResponse<T>> {
    const payload = text !== undefined ? Buffer.from(text) : body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (text !== undefined) headers = { 'content-type': 'application/hujson', ...headers };
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            host: 'control-plane',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...headers,
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like call, but insists on the expected status. */
  async expect<T = any>(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.call<T>(method, path, body, headers);
    if (res.status !== status) {
      throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }
}

import type { HeartbeatDto, NodeConfig, RegisteredNode, RegisterNodeDto } from '../contracts';

/** A non-2xx answer. 401 on node routes means the node token was revoked (the node was removed). */
export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status}${body ? ` ${body.slice(0, 300)}` : ''}`);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The control plane's REST API as the agent uses it. Tokens go in the Authorization header only. */
export class ControlPlaneClient {
  constructor(private readonly baseUrl: string, private readonly fetchImpl: typeof fetch = fetch) {}

  register(authToken: string, body: RegisterNodeDto): Promise<RegisteredNode> {
    return this.json<RegisteredNode>('POST', '/api/v1/nodes', authToken, body, 'register node');
  }

  getConfig(nodeId: string, nodeToken: string): Promise<NodeConfig> {
    return this.json<NodeConfig>('GET', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config`, nodeToken, undefined, 'fetch config');
  }

  async heartbeat(nodeId: string, nodeToken: string, body: HeartbeatDto): Promise<void> {
    await this.json('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/heartbeat`, nodeToken, body, 'heartbeat');
  }

  /** Opens the config event stream; the caller reads the body. */
  async openConfigStream(nodeId: string, nodeToken: string, lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${nodeToken}`, accept: 'text/event-stream' };
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    const response = await this.fetchImpl(`${this.baseUrl}/api/v1/nodes/${encodeURIComponent(nodeId)}/config/stream`, { headers, signal });
    if (!response.ok) throw new HttpError(response.status, await response.text().catch(() => ''), 'open config stream');
    return response;
  }

  private async json<T>(method: string, path: string, token: string, body: unknown, what: string): Promise<T> {
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpError(response.status, text, what);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

import type { HeartbeatDto, NodeConfig, NodeKeyView, RegisteredNode, RegisterNodeDto, RelayPath } from '../contracts';
import type { AgentConfig } from '../agent-config';
import type { Logger } from '../logger';
import { fetchTrusting, readCaBundle } from './ca-fetch';

/** A non-2xx answer. 401 on node routes means the node token was revoked (the node was removed). */
export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status}${body ? ` ${body.slice(0, 300)}` : ''}`);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

/** Answers of a proxy or load balancer whose replica is gone or overloaded: another URL may do better. */
const FAILOVER_STATUSES = new Set([502, 503, 504]);

/** Socket-level error codes (Node and undici) meaning the replica could not be reached or dropped the connection. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH',
  'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** The error code (ECONNREFUSED, ...) somewhere in the cause chain of a fetch error, if any. */
function connectionCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, errors, cause } = e as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    // Happy eyeballs tries several addresses and reports an AggregateError of them.
    if (Array.isArray(errors)) for (const inner of errors) {
      const found = connectionCode(inner);
      if (found) return found;
    }
    e = cause;
  }
  return null;
}

/**
 * Why `err` means the replica at the URL used is unreachable (a short reason for the log), or null when it does not:
 * refused, reset or timed-out connections and 502/503/504 fail over; a 4xx (401, 403, 404, 409), a 500 or a
 * cancellation by the agent itself do not.
 */
export function connectionFailure(err: unknown): string | null {
  if (err instanceof HttpError) return FAILOVER_STATUSES.has(err.status) ? `HTTP ${err.status}` : null;
  const code = connectionCode(err);
  if (code) return code;
  // By name, not instanceof: fetch's errors come from Node's own realm, which is not a test sandbox's.
  const { name, message } = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; message?: unknown };
  if (name === 'TimeoutError') return 'timeout';
  // fetch reports every network-level failure as TypeError('fetch failed'), and a body cut off as 'terminated'.
  if (name === 'TypeError' && (message === 'fetch failed' || message === 'terminated')) return message;
  return null;
}

/** A URL fit for a log line: no user info, query or fragment (which could carry credentials). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.href.replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export interface ControlPlaneClientOptions {
  /** Failovers are logged here, at warn. */
  logger?: Logger;
  fetch?: typeof fetch;
  /** How long a REST request may take before the URL counts as unreachable (the config stream has its idle timer). */
  requestTimeoutMs?: number;
}

/** An open config stream and the control-plane URL it came from (to report a failure of that replica). */
export interface OpenedConfigStream {
  response: Response;
  baseUrl: string;
}

/**
 * The control plane's REST API as the agent uses it. Tokens go in the Authorization header only.
 *
 * It knows one or more control-plane URLs (replicas, or several addresses of one) and sends every request to the
 * current one. When a request cannot reach it (see `connectionFailure`), the current URL moves to the next one,
 * round-robin; the caller retries with its own backoff, so the agent keeps working while any URL answers. It stays
 * on a URL that works: there is no preferred one to return to.
 */
export class ControlPlaneClient {
  private readonly urls: readonly string[];
  private index = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly logger: Logger | undefined;
  private readonly requestTimeoutMs: number;

  constructor(urls: readonly string[], options: ControlPlaneClientOptions = {}) {
    if (urls.length === 0) throw new Error('ControlPlaneClient needs at least one URL');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    this.fetchImpl = options.fetch ?? fetch;
    this.logger = options.logger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** The URL requests go to now. */
  get currentUrl(): string {
    return this.urls[this.index];
  }

  register(authToken: string, body: RegisterNodeDto): Promise<RegisteredNode> {
    return this.json<RegisteredNode>('POST', '/api/v1/nodes', authToken, body, 'register node');
  }

  getConfig(nodeId: string, nodeToken: string): Promise<NodeConfig> {
    return this.json<NodeConfig>('GET', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config`, nodeToken, undefined, 'fetch config');
  }

  /** Tells the control plane the node's new WireGuard public key (POST /api/v1/nodes/:id/key, node token). */
  rotateKey(nodeId: string, nodeToken: string, publicKey: string): Promise<NodeKeyView> {
    return this.json<NodeKeyView>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/key`, nodeToken, { publicKey }, 'rotate key');
  }

  /** Asks for a relay path to the peer (POST /api/v1/nodes/:id/relay-paths); it arrives in the config too. */
  requestRelayPath(nodeId: string, nodeToken: string, peer: string): Promise<RelayPath> {
    return this.json<RelayPath>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/relay-paths`, nodeToken, { peer }, 'request relay path');
  }

  /** Gives the relay path to the peer up: the direct path works. */
  async releaseRelayPath(nodeId: string, nodeToken: string, peer: string): Promise<void> {
    await this.json('DELETE', `/api/v1/nodes/${encodeURIComponent(nodeId)}/relay-paths?peer=${encodeURIComponent(peer)}`, nodeToken, undefined, 'release relay path');
  }

  async heartbeat(nodeId: string, nodeToken: string, body: HeartbeatDto): Promise<void> {
    await this.json('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/heartbeat`, nodeToken, body, 'heartbeat');
  }

  /**
   * Opens the config event stream at the current URL; the caller reads the body and, should reading it fail,
   * reports that with `reportFailure(baseUrl, ...)`. An abort by the caller counts as a failure of the replica
   * only when its reason is a TimeoutError (the stream's idle timer), not for a stop or a requested reconnect.
   */
  async openConfigStream(nodeId: string, nodeToken: string, lastEventId: string | null, signal: AbortSignal): Promise<OpenedConfigStream> {
    const headers: Record<string, string> = { authorization: `Bearer ${nodeToken}`, accept: 'text/event-stream' };
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    const baseUrl = this.currentUrl;
    try {
      const response = await this.fetchImpl(`${baseUrl}/api/v1/nodes/${encodeURIComponent(nodeId)}/config/stream`, { headers, signal });
      if (!response.ok) throw new HttpError(response.status, await response.text().catch(() => ''), 'open config stream');
      return { response, baseUrl };
    } catch (err) {
      this.reportFailure(baseUrl, 'open config stream', signal.aborted ? signal.reason : err);
      throw err;
    }
  }

  /**
   * Reports that a request to `baseUrl` failed with `err`. When that means the replica is unreachable
   * (`connectionFailure`) and `baseUrl` is still the current URL, moves on to the next one; moving only from the URL
   * that failed keeps two requests failing together (the stream and a heartbeat) from skipping one.
   */
  reportFailure(baseUrl: string, what: string, err: unknown): void {
    const reason = connectionFailure(err);
    if (reason === null || this.urls.length < 2 || baseUrl !== this.currentUrl) return;
    this.index = (this.index + 1) % this.urls.length;
    // Named by URL only: tokens travel in headers and never reach a log line.
    this.logger?.warn('control plane unreachable, failing over to the next URL', {
      url: displayUrl(baseUrl), next: displayUrl(this.currentUrl), request: what, reason,
    });
  }

  private async json<T>(method: string, path: string, token: string, body: unknown, what: string): Promise<T> {
    const baseUrl = this.currentUrl;
    try {
      const response = await this.fetchImpl(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      const text = await response.text();
      if (!response.ok) throw new HttpError(response.status, text, what);
      return (text ? JSON.parse(text) : undefined) as T;
    } catch (err) {
      this.reportFailure(baseUrl, what, err);
      throw err;
    }
  }
}

/** The client an agent config asks for: its URLs, with the server certificate pinned to `control_plane_ca` if given. */
export function controlPlaneClientFor(config: Pick<AgentConfig, 'controlPlaneUrls' | 'controlPlaneCa'>, logger?: Logger): ControlPlaneClient {
  const ca = config.controlPlaneCa === null ? null : readCaBundle(config.controlPlaneCa);
  return new ControlPlaneClient(config.controlPlaneUrls, { logger, ...(ca === null ? {} : { fetch: fetchTrusting(ca) }) });
}

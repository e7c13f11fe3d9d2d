import type { ConfigPatch, NodeConfig } from '../contracts';
import { SSE_EVENT_CONFIG, SSE_EVENT_PATCH, SSE_PING_INTERVAL_MS } from '../contracts';
import type { Logger } from '../logger';
import { Backoff } from './backoff';
import { displayUrl, HttpError, type ControlPlaneClient } from './control-plane-client';
import { SseParser } from './sse-parser';

export interface ConfigStreamHandlers {
  onConfig(config: NodeConfig): void | Promise<void>;
  onPatch(patch: ConfigPatch): void | Promise<void>;
}

export interface ConfigStreamOptions {
  client: ControlPlaneClient;
  nodeId: string;
  nodeToken: string;
  /** The version the agent holds, sent as Last-Event-ID so a reconnect only gets what it missed. */
  currentVersion: () => number | null;
  handlers: ConfigStreamHandlers;
  logger: Logger;
  backoff?: Backoff;
  /** With pings every 15 s, this long without a byte means the link is dead even if TCP has not noticed. */
  idleTimeoutMs?: number;
  /** A revoked token will not come back quickly: retry slowly. */
  unauthorizedRetryMs?: number;
}

/**
 * Keeps the config stream open for as long as the agent runs: reconnects with backoff and jitter (to the client's
 * next URL when the replica failed), resumes with Last-Event-ID, and hands each config or patch to the handlers in
 * order.
 */
export class ConfigStream {
  private readonly stopController = new AbortController();
  private connection: AbortController | null = null;
  /** The current connection was answered and is being read. */
  private open = false;
  private loopDone: Promise<void> | null = null;
  private readonly backoff: Backoff;

  constructor(private readonly options: ConfigStreamOptions) {
    this.backoff = options.backoff ?? new Backoff();
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Drops the current connection; the loop reconnects (used when a patch cannot be applied and a refetch failed). */
  reconnect(): void {
    this.connection?.abort(new Error('reconnect requested'));
  }

  /**
   * Another request to the control plane failed on the network (a reset, a timeout): the link under the stream may
   * have gone with it — a NAT that forgot its mappings drops the server's packets silently, and the stream would hear
   * of it only at its idle timeout (3 pings, 45 s), missing every patch meanwhile. An open stream is reopened at
   * once; it resumes with Last-Event-ID, so it costs one request.
   */
  linkFailed(): void {
    if (this.open) this.reconnect();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.connection?.abort(new Error('stopping'));
    await this.loopDone;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async loop(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      let delay: number;
      try {
        await this.connectOnce();
        delay = this.backoff.next();
        if (!this.stopped) logger.warn('config stream ended, reconnecting', { inMs: delay });
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof HttpError && err.status === 401) {
          delay = this.options.unauthorizedRetryMs ?? 60_000;
          logger.error('control plane rejected the node token: this node was probably removed; keeping the last config', {
            status: err.status, retryInMs: delay,
          });
        } else {
          delay = this.backoff.next();
          logger.warn('config stream failed, reconnecting', { err, inMs: delay });
        }
      }
      await sleep(delay, this.stopController.signal);
    }
  }

  private async connectOnce(): Promise<void> {
    const { client, nodeId, nodeToken, handlers, logger } = this.options;
    const connection = new AbortController();
    this.connection = connection;
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 3 * SSE_PING_INTERVAL_MS;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idleTimer);
      // A TimeoutError, unlike the abort of stop() or reconnect(), counts as the replica failing: the client moves on.
      idleTimer = setTimeout(() => connection.abort(new DOMException('config stream idle', 'TimeoutError')), idleTimeoutMs);
    };
    try {
      armIdle();
      // The version held, whichever URL served it: every replica numbers a node's configs alike, so a stream
      // resumed on another one sends only what was missed.
      const version = this.options.currentVersion();
      const { response, baseUrl } = await client.openConfigStream(nodeId, nodeToken, version === null ? null : String(version), connection.signal);
      logger.info('config stream connected', { url: displayUrl(baseUrl), lastEventId: version });
      this.open = true;
      if (!response.body) throw new Error('config stream has no body');
      const parser = new SseParser();
      const decoder = new TextDecoder();
      let first = true;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          armIdle();
          if (first) {
            // Only a stream that delivered something counts as recovered, or a flapping server would get no backoff.
            this.backoff.reset();
            first = false;
          }
          for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (event.event === SSE_EVENT_CONFIG) await handlers.onConfig(JSON.parse(event.data) as NodeConfig);
            else if (event.event === SSE_EVENT_PATCH) await handlers.onPatch(JSON.parse(event.data) as ConfigPatch);
            else logger.debug('ignoring unknown config stream event', { event: event.event });
          }
        }
      } catch (err) {
        // A reset or a silent link is the replica's failure; a handler's error or our own abort is not.
        if (!this.stopped) client.reportFailure(baseUrl, 'config stream', connection.signal.aborted ? connection.signal.reason : err);
        throw err;
      }
    } finally {
      clearTimeout(idleTimer);
      this.connection = null;
      this.open = false;
    }
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (at once if it already has); never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

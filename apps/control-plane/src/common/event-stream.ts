import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An open server-sent event stream on the raw response, taken over from Fastify. It ends once — when the client goes
 * away or `end()` is called — and then runs its cleanups; `keepAlive` pings it while it is open. The stream is idle by
 * design between pings, so the idle-socket timeout (meant for stalled clients) is off; proxies are asked not to
 * buffer it.
 */
export class EventStream {
  private done = false;
  private ping: NodeJS.Timeout | undefined;
  private readonly cleanups: Array<() => void> = [];

  constructor(readonly raw: ServerResponse, request: IncomingMessage) {
    raw.socket?.setTimeout(0);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    request.on('close', () => this.end());
  }

  get ended(): boolean {
    return this.done;
  }

  /** Runs `cleanup` when the stream ends. */
  onEnd(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Calls `send` (a comment ping, by default) every `ms` while the stream is open. */
  keepAlive(ms: number, send: () => void = () => void this.raw.write(': ping\n\n')): void {
    if (!this.done) this.ping = setInterval(send, ms);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.ping);
    for (const cleanup of this.cleanups) cleanup();
    this.raw.end();
  }
}

export function openEventStream(reply: FastifyReply, request: FastifyRequest): EventStream {
  reply.hijack();
  return new EventStream(reply.raw, request.raw);
}

/** One SSE frame (`data` is a single line of JSON). */
export const eventFrame = (event: string, id: number, data: string): string => `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;

/**
 * One SSE frame around `data` given as pieces (a patch from shared fragments): each run of text is encoded once, and
 * bytes are copied; one buffer.
 */
export function eventFrameBytes(event: string, id: number, data: ReadonlyArray<string | Buffer>): Buffer {
  const buffers: Buffer[] = [];
  let text = `event: ${event}\nid: ${id}\ndata: `;
  for (const piece of data) {
    if (typeof piece === 'string') {
      text += piece;
    } else {
      // Bytes usually follow bytes (a list of shared peer entries): no empty buffer between them.
      if (text !== '') buffers.push(Buffer.from(text));
      buffers.push(piece);
      text = '';
    }
  }
  buffers.push(Buffer.from(`${text}\n\n`));
  return buffers.length === 1 ? buffers[0] : Buffer.concat(buffers);
}

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

/** Bytes this long or longer go to the socket as they are (a view of a shared list), not copied into the frame. */
const WRITTEN_AS_IS = 16 * 1024;

/**
 * One SSE frame around `data` given as pieces (a patch from shared fragments), as buffers to write in order: each
 * run of text is encoded once, small bytes are copied together, large ones are passed on as they are. A change that
 * gives 3,000 agents 3,000 new peers is ~1.7 GB of frames made of the same few lists; copying each frame into one
 * buffer was most of its fan-out's CPU.
 */
export function eventFrameBuffers(event: string, id: number, data: ReadonlyArray<string | Buffer>): Buffer[] {
  const frame: Buffer[] = [];
  let run: Buffer[] = [];
  let text = `event: ${event}\nid: ${id}\ndata: `;
  const endText = () => {
    if (text !== '') run.push(Buffer.from(text));
    text = '';
  };
  const endRun = () => {
    endText();
    if (run.length > 0) frame.push(run.length === 1 ? run[0] : Buffer.concat(run));
    run = [];
  };
  for (const piece of data) {
    if (typeof piece === 'string') {
      text += piece;
    } else if (piece.length >= WRITTEN_AS_IS) {
      endRun();
      frame.push(piece);
    } else {
      endText();
      run.push(piece);
    }
  }
  text += '\n\n';
  endRun();
  return frame;
}

import { request } from 'node:http';

const NEWLINE = 0x0a;

export interface SseFrame { event: string; id: string; data: string; at: bigint }

/** A minimal SSE reader on node:http: frames and bytes received, for the fan-out benchmark. */
export class SseClient {
  frames: SseFrame[] = [];
  bytes = 0;
  /** The response's status once it arrived (200 for a stream), or the request's error. */
  status: number | null = null;
  error: Error | null = null;
  /** Bytes of the frame being received, as they came; and whether they end in a newline (half a frame's end). */
  private pending: Buffer[] = [];
  private endsWithNewline = false;
  private waiters: { predicate: (f: SseFrame) => boolean; resolve: (f: SseFrame | null) => void }[] = [];
  private destroy: () => void = () => undefined;

  constructor(port: number, path: string, token: string) {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      this.status = res.statusCode ?? null;
      res.on('data', (chunk: Buffer) => this.onData(chunk));
    });
    req.on('error', (error) => { this.error = error; });
    req.end();
    this.destroy = () => req.destroy();
  }

  /**
   * Splits the bytes at each frame's end ("\n\n"), looking only at the new chunk: a large frame (a hub's config is
   * ~2 MB) comes in many chunks, and scanning all of it again for each was the client's own cost, not the server's.
   */
  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    let from = 0;
    for (;;) {
      let end: number;
      if (from === 0 && this.endsWithNewline && chunk[0] === NEWLINE) end = 1;
      else {
        const at = chunk.indexOf('\n\n', from);
        if (at < 0) break;
        end = at + 2;
      }
      this.pending.push(chunk.subarray(from, end));
      const block = Buffer.concat(this.pending).toString('utf8');
      this.pending = [];
      from = end;
      this.onFrame(block.slice(0, block.lastIndexOf('\n', block.length - 2)));
    }
    if (from < chunk.length) this.pending.push(chunk.subarray(from));
    this.endsWithNewline = from < chunk.length && chunk[chunk.length - 1] === NEWLINE;
  }

  private onFrame(block: string): void {
    const frame: SseFrame = { event: '', id: '', data: '', at: process.hrtime.bigint() };
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('id: ')) frame.id = line.slice(4);
      else if (line.startsWith('data: ')) frame.data += line.slice(6);
    }
    if (!frame.event) return;
    this.frames.push(frame);
    this.waiters = this.waiters.filter((w) => (w.predicate(frame) ? (w.resolve(frame), false) : true));
  }

  /** The first frame (received or to come) matching `predicate`; with `timeoutMs`, null if none came by then. */
  next(predicate: (f: SseFrame) => boolean): Promise<SseFrame>;
  next(predicate: (f: SseFrame) => boolean, timeoutMs: number): Promise<SseFrame | null>;
  next(predicate: (f: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame | null> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const waiter = { predicate, resolve: (f: SseFrame | null) => { clearTimeout(timer); resolve(f); } };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Drops the frames received so far: a long run keeps only what is still to be asked for (a heap of old frames
   * slows the client's garbage collection, and with it every latency the client measures). */
  forgetFrames(): void {
    this.frames.length = 0;
  }

  close(): void {
    this.destroy();
  }
}

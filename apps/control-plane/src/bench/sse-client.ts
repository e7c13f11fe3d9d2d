import { request } from 'node:http';

export interface SseFrame { event: string; id: string; data: string; at: bigint }

/** A minimal SSE reader on node:http: frames and bytes received, for the fan-out benchmark. */
export class SseClient {
  frames: SseFrame[] = [];
  bytes = 0;
  /** The response's status once it arrived (200 for a stream), or the request's error. */
  status: number | null = null;
  error: Error | null = null;
  private buffer = '';
  private waiters: { predicate: (f: SseFrame) => boolean; resolve: (f: SseFrame | null) => void }[] = [];
  private destroy: () => void = () => undefined;

  constructor(port: number, path: string, token: string) {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      this.status = res.statusCode ?? null;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.onData(chunk));
    });
    req.on('error', (error) => { this.error = error; });
    req.end();
    this.destroy = () => req.destroy();
  }

  private onData(chunk: string): void {
    this.bytes += Buffer.byteLength(chunk);
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame: SseFrame = { event: '', id: '', data: '', at: process.hrtime.bigint() };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('data: ')) frame.data += line.slice(6);
      }
      if (!frame.event) continue;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => (w.predicate(frame) ? (w.resolve(frame), false) : true));
    }
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

  close(): void {
    this.destroy();
  }
}

/** A real SSE client over fetch: reads the body stream and parses `event:` / `id:` / `data:` frames and comments. */
export interface SseFrame {
  event: string;
  id: string | undefined;
  data: any;
  /** performance.now() when the frame was complete. */
  receivedAt: number;
}

export class SseClient {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  status = 0;
  contentType = '';
  ended = false;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  private done: Promise<void> = Promise.resolve();

  private constructor(private readonly url: string) {}

  /** Opens the stream; resolves once the response headers arrived. Non-200 answers are kept (status, frames empty). */
  static async connect(url: string, token: string, lastEventId?: string | number): Promise<SseClient> {
    const client = new SseClient(url);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
    const response = await fetch(url, { headers, signal: client.controller.signal });
    client.status = response.status;
    client.contentType = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !response.body) {
      await response.text().catch(() => undefined);
      client.ended = true;
      return client;
    }
    client.done = client.read(response.body);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          this.parse(block);
        }
      }
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let isFrame = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') { event = value; isFrame = true; }
      else if (field === 'id') { id = value; isFrame = true; }
      else if (field === 'data') { data.push(value); isFrame = true; }
    }
    if (isFrame) {
      const text = data.join('\n');
      let parsed: unknown = text;
      try { parsed = JSON.parse(text); } catch { /* keep text */ }
      this.frames.push({ event, id, data: parsed, receivedAt: performance.now() });
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits for the n-th frame (0-based) matching `predicate`, or throws after `timeoutMs`. */
  async waitFor(predicate: (f: SseFrame) => boolean, timeoutMs = 3000, from = 0): Promise<SseFrame> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(predicate);
      if (found) return found;
      if (this.ended) throw new Error(`SSE stream ${this.url} ended before the expected frame`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for an SSE frame on ${this.url}; got ${JSON.stringify(this.frames.map((f) => [f.event, f.id]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Waits until the server ends the stream. */
  async waitForEnd(timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`SSE stream ${this.url} did not end`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Waits for any comment matching `text` (pings, "up to date"). */
  async waitForComment(match: (c: string) => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.comments.some(match)) {
      if (this.ended) throw new Error('SSE stream ended before the expected comment');
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for an SSE comment; got ${JSON.stringify(this.comments)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** The config stream URL of a node. */
export function sseUrl(baseUrl: string, nodeId: string): string {
  return `${baseUrl}/api/v1/nodes/${nodeId}/config/stream`;
}

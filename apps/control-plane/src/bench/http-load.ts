import { connect, Socket } from 'node:net';

export interface LoadResult { requests: number; errors: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number }

/**
 * A closed-loop load generator: `concurrency` keep-alive connections, each sending its next request when the previous
 * one answered, for `seconds`. Requests are prebuilt bytes on raw sockets: node's http client costs more CPU per
 * request than the server under test, and on two cores it would measure itself. Loopback only, bounded in time.
 */
export async function closedLoop(
  target: {
    /** The server's port, or each loop's (load spread over replicas). */
    port: number | ((loop: number) => number);
    path: (loop: number) => string;
    headers: (loop: number) => Record<string, string>;
    /** The request body, or each loop's (each node reports its own peers). */
    body: string | ((loop: number) => string);
  },
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const deadline = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const loop = (i: number) => new Promise<void>((done) => {
    const body = typeof target.body === 'string' ? target.body : target.body(i);
    const headers = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...target.headers(i) };
    const request = Buffer.from(
      `POST ${target.path(i)} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`,
    );
    const socket: Socket = connect(typeof target.port === 'number' ? target.port : target.port(i), '127.0.0.1');
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let sentAt = process.hrtime.bigint();
    const send = () => {
      if (Date.now() >= deadline) {
        socket.end();
        return done();
      }
      sentAt = process.hrtime.bigint();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('error', () => done());
    socket.on('data', (chunk) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (let response = takeResponse(buffer); response; response = takeResponse(buffer)) {
        buffer = buffer.subarray(response.length);
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        if (response.status < 200 || response.status >= 300) errors++;
        send();
      }
    });
  });
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length, errors, seconds: elapsed, perSecond: latencies.length / elapsed,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

/**
 * The first whole response in `buffer`: its status and its length in bytes (head and body), or undefined while it is
 * incomplete. Bodies are framed by content-length or chunked transfer coding: a chunked body read as empty would leave
 * its `0\r\n\r\n` to be taken for the next response, and every such phantom sends another request on the socket.
 */
export function takeResponse(buffer: Buffer): { status: number; length: number } | undefined {
  const headerEnd = buffer.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = buffer.subarray(0, headerEnd).toString('latin1');
  const status = Number(head.slice(9, 12));
  const bodyStart = headerEnd + 4;
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) {
    const length = bodyStart + Number(/\r\ncontent-length: *([0-9]+)/i.exec(head)?.[1] ?? 0);
    return buffer.length < length ? undefined : { status, length };
  }
  for (let at = bodyStart; ;) {
    const sizeEnd = buffer.indexOf('\r\n', at);
    if (sizeEnd < 0) return undefined;
    const size = parseInt(buffer.subarray(at, sizeEnd).toString('latin1'), 16);
    if (size === 0) {
      // No trailers here: the last chunk is followed by the blank line.
      const end = buffer.indexOf('\r\n', sizeEnd + 2);
      return end < 0 ? undefined : { status, length: end + 2 };
    }
    at = sizeEnd + 2 + size + 2;
    if (buffer.length < at) return undefined;
  }
}

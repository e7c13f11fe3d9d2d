/**
 * The floor of bench part (k): a bare node:http server doing nothing but what the wire needs, in its own process.
 * - POST to any path but /fanout: the body is read and dropped, 202 `{"accepted":true}` with a content-length, as
 *   the control plane answers (the heartbeat floor).
 * - GET /stream?i=<k>: an SSE stream, opened with a tiny `config` frame so the client knows it is connected.
 * - POST /fanout with a JSON array of byte counts: writes to stream k a `patch` frame of exactly counts[k] bytes (at
 *   least its header) and answers 204 once every write is issued — what the control plane must at least pay to send
 *   a change of that many bytes per stream.
 * - GET /: 200, for the bench's readiness poll.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

const streams = new Map<number, ServerResponse>();
let padding = Buffer.alloc(0);
let frames = 0;
const tail = Buffer.from('\n\n');
const ACCEPTED = Buffer.from('{"accepted":true}');

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function openStream(k: number, res: ServerResponse): void {
  res.socket?.setTimeout(0);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write('event: config\nid: 0\ndata: {}\n\n');
  streams.set(k, res);
  res.on('close', () => {
    if (streams.get(k) === res) streams.delete(k);
  });
}

/** One frame per stream from shared bytes: the header, a view on one padding buffer, the blank line; corked into one write. */
function fanOut(counts: number[]): void {
  const id = ++frames;
  const head = Buffer.from(`event: patch\nid: ${id}\ndata: `);
  const longest = Math.max(0, ...counts) - head.length - tail.length;
  if (padding.length < longest) padding = Buffer.alloc(longest, 'x');
  for (const [k, res] of streams) {
    const pad = Math.max(0, (counts[k] ?? 0) - head.length - tail.length);
    res.cork();
    res.write(head);
    if (pad > 0) res.write(padding.subarray(0, pad));
    res.write(tail);
    res.uncork();
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  if (req.method === 'GET' && url.pathname === '/stream') return openStream(Number(url.searchParams.get('i')), res);
  if (req.method === 'POST' && url.pathname === '/fanout') {
    void readBody(req).then((body) => {
      fanOut(JSON.parse(body.toString()) as number[]);
      res.writeHead(204).end();
    });
    return;
  }
  if (req.method === 'POST') {
    void readBody(req).then(() => {
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': ACCEPTED.length }).end(ACCEPTED);
    });
    return;
  }
  res.writeHead(200).end();
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');

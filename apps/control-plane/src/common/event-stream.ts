import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Takes the response over from Fastify and opens it as a server-sent event stream. The stream is idle by design
 * between pings, so the idle-socket timeout (meant for stalled clients) is off; proxies are asked not to buffer it.
 */
export function openEventStream(reply: FastifyReply): ServerResponse {
  const raw = reply.raw;
  reply.hijack();
  raw.socket?.setTimeout(0);
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return raw;
}

/** One SSE frame (`data` is a single line of JSON). */
export const eventFrame = (event: string, id: number, data: string): string => `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;

/** One SSE frame around `data` given as pieces of bytes (a patch from shared fragments): one buffer, one copy. */
export const eventFrameBytes = (event: string, id: number, data: readonly Buffer[]): Buffer =>
  Buffer.concat([Buffer.from(`event: ${event}\nid: ${id}\ndata: `), ...data, FRAME_END]);
const FRAME_END = Buffer.from('\n\n');

import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { closedLoop, takeResponse } from './http-load';

describe('closedLoop (the heartbeat benchmarks\' load generator)', () => {
  let server: Server;
  let port = 0;
  let received = 0;
  let chunked = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        // writeHead before end: node frames the body with chunked transfer coding; with a length header it does not.
        if (chunked) res.writeHead(202).end('{"accepted":true}');
        else res.writeHead(202, { 'content-length': 2 }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([['content-length', false], ['chunked', true]])('counts one response per request the server answered (%s)', async (_framing, isChunked) => {
    chunked = isChunked;
    received = 0;
    const result = await closedLoop({ port, path: () => '/x', headers: () => ({}), body: '{}' }, 8, 0.3);
    expect(result.requests).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
    // Each loop has one request in flight: what the server answered is what the loops counted.
    expect(result.requests).toBe(received);
  });

  it('takes a response only when it is whole, and no more than it', () => {
    const chunkedResponse = 'HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    const next = 'HTTP/1.1 404 Not Found\r\ncontent-length: 1\r\n\r\nx';
    const both = Buffer.from(chunkedResponse + next);
    expect(takeResponse(both)).toEqual({ status: 202, length: Buffer.byteLength(chunkedResponse) });
    expect(takeResponse(both.subarray(Buffer.byteLength(chunkedResponse)))).toEqual({ status: 404, length: Buffer.byteLength(next) });
    for (let cut = 1; cut < Buffer.byteLength(chunkedResponse); cut++) expect(takeResponse(both.subarray(0, cut))).toBeUndefined();
    expect(takeResponse(Buffer.from(next).subarray(0, next.length - 1))).toBeUndefined();
  });
});

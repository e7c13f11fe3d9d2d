import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { SseClient } from './sse-client';

describe('SseClient (the fan-out benchmark\'s reader)', () => {
  let server: Server;
  let response: ServerResponse | null = null;
  let port = 0;
  const connected = () => new Promise<ServerResponse>((resolve) => {
    const poll = () => (response ? resolve(response) : setTimeout(poll, 5));
    poll();
  });
  // Each write its own chunk: Nagle off on both ends is not enough to be sure, so each waits for the last to arrive.
  const writeApart = async (res: ServerResponse, client: SseClient, pieces: string[]) => {
    for (const piece of pieces) {
      const before = client.bytes;
      res.write(piece);
      while (client.bytes < before + Buffer.byteLength(piece)) await new Promise((r) => setTimeout(r, 2));
    }
  };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      response = res;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    response?.end();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads frames split anywhere, their end included, and a large one in many chunks; counts every byte', async () => {
    const client = new SseClient(port, '/stream', 'token');
    const res = await connected();
    const big = 'x'.repeat(2_000_000);
    const pieces = [
      'event: config\nid: 1\ndata: {"a":1}\n', '\nevent: patch\nid: 2\nda', 'ta: {"b":2}\n\n: keep-alive\n\nevent: patch\nid: 3\ndata: ',
      ...Array.from({ length: 40 }, (_, i) => big.slice(i * 50_000, (i + 1) * 50_000)), '\n\nevent: patch\nid: 4\ndata: é\n\n',
    ];
    await writeApart(res, client, pieces);
    const last = await client.next((f) => f.id === '4', 5000);
    client.close();

    expect(last).not.toBeNull();
    expect(client.frames.map((f) => [f.event, f.id, f.data.length > 100 ? `${f.data.length} bytes` : f.data])).toEqual([
      ['config', '1', '{"a":1}'], ['patch', '2', '{"b":2}'], ['patch', '3', '2000000 bytes'], ['patch', '4', 'é'],
    ]);
    expect(client.frames[2].data).toBe(big);
    expect(client.bytes).toBe(pieces.reduce((n, p) => n + Buffer.byteLength(p), 0));
  });
});

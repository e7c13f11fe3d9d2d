import type { RelayService } from '../contracts';
import { RelayForwarder } from './relay-forwarder';
import { decodeBindingResponse, encodeBindingRequest } from './stun';
import { freeUdpPorts, UdpPeer, until } from './testing/udp-peer';

const A = '127.0.0.2';
const B = '127.0.0.3';
const STRANGER = '127.0.0.4';

describe('RelayForwarder', () => {
  let relay: RelayForwarder;
  let clock: number | null;
  const opened: UdpPeer[] = [];
  const peer = async (ip: string, port?: number) => {
    const p = await UdpPeer.open(ip, port);
    opened.push(p);
    return p;
  };
  let ports: number[];
  const service = (over: Partial<RelayService> = {}): RelayService => ({
    reflectPort: ports[0],
    forwards: [{ ports: [ports[1], ports[2]], sources: [A, B] }],
    pairRateMbit: 100,
    pairPacketsPerSecond: 100_000,
    ...over,
  });
  /** a and b on their sides of the first forward, both heard by the relay (b's hello reached a). */
  const connected = async () => {
    const a = await peer(A);
    const b = await peer(B);
    await a.send('hello from a', ports[1]);
    await until(() => relay.stats().dropped.noPeerYet === 1);
    await b.send('hello from b', ports[2]);
    expect((await a.next()).data.toString()).toBe('hello from b');
    return { a, b };
  };

  beforeEach(async () => {
    clock = null;
    relay = new RelayForwarder({ bindAddress: '127.0.0.1', now: () => clock ?? performance.now() });
    ports = await freeUdpPorts(8);
  });

  afterEach(async () => {
    await relay.close();
    await Promise.all(opened.splice(0).map((p) => p.close()));
  });

  it('forwards both ways once both sides spoke, from the relay port each side talks to', async () => {
    await relay.apply(service());
    const { a, b } = await connected();
    await a.send('ping', ports[1]);
    expect(await b.next()).toEqual({ data: Buffer.from('ping'), from: `127.0.0.1:${ports[2]}` });
    await b.send('pong', ports[2]);
    expect(await a.next()).toEqual({ data: Buffer.from('pong'), from: `127.0.0.1:${ports[1]}` });

    expect(relay.stats()).toEqual({
      forwardedPackets: 3,
      forwardedBytes: 'hello from b'.length + 'ping'.length + 'pong'.length,
      dropped: { unknownSource: 0, rateLimited: 0, noPeerYet: 1 },
      forwards: 1,
    });
    expect(relay.observed()).toEqual([
      { port: ports[1], address: `${A}:${a.port}` },
      { port: ports[2], address: `${B}:${b.port}` },
    ]);
    expect(b.pending).toBe(0); // the first "hello from a" went nowhere
  });

  it('drops datagrams from any other IP, on either port, and keeps the learned addresses', async () => {
    await relay.apply(service());
    const { a, b } = await connected();
    const stranger = await peer(STRANGER);
    await stranger.send('intruder', ports[1]);
    await stranger.send('intruder', ports[2]);
    await until(() => relay.stats().dropped.unknownSource === 2);

    await a.send('after', ports[1]);
    expect((await b.next()).data.toString()).toBe('after'); // first thing b got: the intruder was not forwarded
    expect(stranger.pending).toBe(0);
    expect(relay.observed().map((o) => o.address)).toEqual([`${A}:${a.port}`, `${B}:${b.port}`]);
  });

  it('follows a side the NAT remapped to a new port: latest wins', async () => {
    await relay.apply(service());
    const { a, b } = await connected();
    const remapped = await peer(A);
    await remapped.send('from the new mapping', ports[1]);
    expect((await b.next()).data.toString()).toBe('from the new mapping');
    await b.send('reply', ports[2]);
    expect((await remapped.next()).data.toString()).toBe('reply');
    expect(a.pending).toBe(0);
    expect(relay.observed()).toContainEqual({ port: ports[1], address: `${A}:${remapped.port}` });
  });

  it('accepts sources written as IPv4-mapped IPv6, and serves dual-stack sockets', async () => {
    await relay.close();
    relay = new RelayForwarder({ bindAddress: '::ffff:127.0.0.1' });
    await relay.apply(service({ forwards: [{ ports: [ports[1], ports[2]], sources: [`::ffff:${A}`, B] }] }));
    const { a, b } = await connected();
    await a.send('ping', ports[1]);
    expect((await b.next()).data.toString()).toBe('ping');
    expect(relay.observed()).toEqual([
      { port: ports[1], address: `${A}:${a.port}` },
      { port: ports[2], address: `${B}:${b.port}` },
    ]);
  });

  it('drops beyond the packet bucket (a quarter second of the rate) and refills with time', async () => {
    clock = 1_000;
    await relay.apply(service({ pairPacketsPerSecond: 40 })); // burst: 10 packets
    const { a, b } = await connected(); // b's hello took one
    for (let i = 0; i < 30; i++) await a.send(`burst ${i}`, ports[1]);
    await until(() => relay.stats().forwardedPackets + relay.stats().dropped.rateLimited === 31);
    expect(relay.stats()).toMatchObject({ forwardedPackets: 10, dropped: { rateLimited: 21 } });
    await until(() => b.pending === 9);

    clock += 100; // 4 packets' worth
    for (let i = 0; i < 10; i++) await b.send(`later ${i}`, ports[2]);
    await until(() => relay.stats().dropped.rateLimited === 27);
    expect(relay.stats().forwardedPackets).toBe(14);
  });

  it('drops beyond the byte bucket, both directions counting together', async () => {
    clock = 1_000;
    await relay.apply(service({ pairRateMbit: 4 })); // 500 000 B/s: burst 125 000 B
    const { a, b } = await connected();
    const big = Buffer.alloc(10_000, 0x5a);
    for (let i = 0; i < 10; i++) await a.send(big, ports[1]);
    for (let i = 0; i < 10; i++) await b.send(big, ports[2]);
    await until(() => relay.stats().forwardedPackets + relay.stats().dropped.rateLimited === 21);
    // 12 + 12 bytes of hello fit in 125 000; the 13th 10 000-byte datagram does not.
    expect(relay.stats()).toMatchObject({ forwardedPackets: 13, forwardedBytes: 12 + 120_000, dropped: { rateLimited: 8 } });
  });

  it('holds a real-clock burst to the bucket plus what elapsed time refilled', async () => {
    await relay.apply(service({ pairPacketsPerSecond: 100 })); // burst: 25 packets
    const { a } = await connected();
    const started = performance.now();
    // In rounds the relay reads before the next: a socket's receive buffer would drop a burst of a thousand.
    const handled = () => relay.stats().forwardedPackets + relay.stats().dropped.rateLimited;
    for (let round = 1; round <= 20; round++) {
      for (let i = 0; i < 50; i++) await a.send('x', ports[1]);
      await until(() => handled() === 1 + round * 50);
    }
    const elapsed = (performance.now() - started) / 1000;
    const { forwardedPackets, dropped } = relay.stats();
    expect(dropped.rateLimited).toBeGreaterThan(0);
    expect(forwardedPackets).toBeLessThanOrEqual(25 + Math.ceil(100 * elapsed) + 1);
  }, 20_000);

  it('applies a diff: unchanged forwards keep their sockets and learned addresses, removed ports are freed', async () => {
    const kept = { ports: [ports[1], ports[2]] as [number, number], sources: [A, B] as [string, string] };
    await relay.apply(service({ forwards: [kept, { ports: [ports[3], ports[4]], sources: [A, STRANGER] }] }));
    const { a, b } = await connected();
    expect(relay.stats().forwards).toBe(2);

    await relay.apply(service({ reflectPort: ports[7], forwards: [kept, { ports: [ports[5], ports[6]], sources: [A, B] }], pairRateMbit: 50 }));
    await relay.apply(service({ reflectPort: ports[7], forwards: [kept, { ports: [ports[5], ports[6]], sources: [A, B] }], pairRateMbit: 50 }));
    // No side spoke again, yet the kept forward still knows both.
    await a.send('still here', ports[1]);
    expect((await b.next()).data.toString()).toBe('still here');
    expect(relay.observed()).toEqual([
      { port: ports[1], address: `${A}:${a.port}` },
      { port: ports[2], address: `${B}:${b.port}` },
    ]);
    // The new forward is open (it drops for want of a peer, so it was received), the removed ports and old reflector are free.
    await a.send('new forward', ports[5]);
    await until(() => relay.stats().dropped.noPeerYet === 2);
    for (const port of [ports[0], ports[3], ports[4]]) await peer('127.0.0.1', port);
    expect(relay.stats().forwards).toBe(2);

    await relay.apply(null);
    expect(relay.stats().forwards).toBe(0);
    expect(relay.observed()).toEqual([]);
    for (const port of [ports[1], ports[2], ports[5], ports[6], ports[7]]) await peer('127.0.0.1', port);
  });

  it('restarts a forward whose sources changed', async () => {
    await relay.apply(service());
    await connected();
    await relay.apply(service({ forwards: [{ ports: [ports[1], ports[2]], sources: [A, STRANGER] }] }));
    expect(relay.observed()).toEqual([]);
  });

  it('refuses an invalid service and keeps serving the last one', async () => {
    await relay.apply(service());
    const { a, b } = await connected();
    await expect(relay.apply(service({ forwards: [{ ports: [ports[0], ports[3]], sources: [A, B] }] }))).rejects.toThrow(`port ${ports[0]} is used twice`);
    await expect(relay.apply(service({ forwards: [{ ports: [ports[3], ports[4]], sources: [A, 'not-an-ip'] }] }))).rejects.toThrow('invalid forward');
    await expect(relay.apply(service({ pairRateMbit: 0 }))).rejects.toThrow('pair limits must be positive');
    await a.send('still served', ports[1]);
    expect((await b.next()).data.toString()).toBe('still served');
  });

  it('reports a port it cannot bind, serves the rest, and binds it at the next apply', async () => {
    const squatter = await UdpPeer.open('127.0.0.1', ports[2]);
    await expect(relay.apply(service())).rejects.toThrow(`relay could not bind UDP ports ${ports[2]}`);
    await squatter.close();
    await relay.apply(service());
    await connected();
  });

  describe('reflector', () => {
    const ask = async (from: UdpPeer, request: Buffer) => {
      await from.send(request, ports[0]);
      return from.next();
    };

    it('answers a binding request with the address and port it came from', async () => {
      await relay.apply(service());
      const client = await peer(A);
      const transactionId = Buffer.from('0123456789ab');
      const answer = await ask(client, encodeBindingRequest(transactionId));
      expect(answer.from).toBe(`127.0.0.1:${ports[0]}`);
      expect(decodeBindingResponse(answer.data, transactionId)).toEqual({ address: A, port: client.port });
    });

    it('ignores anything that is not a well-formed binding request', async () => {
      await relay.apply(service());
      const client = await peer(B);
      const first = Buffer.from('first_______');
      const malformed = encodeBindingRequest(first);
      malformed.writeUInt32BE(0x2112a443, 4);
      await client.send(malformed, ports[0]);
      await client.send(Buffer.alloc(148, 1), ports[0]);
      await client.send(encodeBindingRequest(first).subarray(0, 19), ports[0]);
      const second = Buffer.from('second______');
      const answer = await ask(client, encodeBindingRequest(second));
      // The first answer is the one to the well-formed request: the others got none.
      expect(decodeBindingResponse(answer.data, second)).toEqual({ address: B, port: client.port });
    });

    it('answers an IPv4 client of a dual-stack socket with its IPv4 address', async () => {
      await relay.close();
      relay = new RelayForwarder({ bindAddress: '::ffff:127.0.0.1' });
      await relay.apply(service());
      const client = await peer(A);
      const transactionId = Buffer.from('dual-stack!!');
      const answer = await ask(client, encodeBindingRequest(transactionId));
      expect(decodeBindingResponse(answer.data, transactionId)).toEqual({ address: A, port: client.port });
    });
  });
});

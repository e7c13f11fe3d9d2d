import { createSocket, type Socket } from 'node:dgram';

/** For specs: a UDP endpoint on a loopback address of its own (Linux answers all of 127/8), keeping what it receives. */
export class UdpPeer {
  private readonly inbox: Array<{ data: Buffer; from: string }> = [];
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: Socket, readonly ip: string, readonly port: number) {
    socket.on('message', (data, rinfo) => {
      this.inbox.push({ data, from: `${rinfo.address}:${rinfo.port}` });
      this.wake?.();
    });
  }

  static open(ip: string, port = 0): Promise<UdpPeer> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: ip, port, exclusive: true }, () => resolve(new UdpPeer(socket, ip, socket.address().port)));
    });
  }

  /** Sends to 127.0.0.1 (where the specs' relay listens) unless told otherwise. */
  send(data: string | Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, host, (err) => (err ? reject(err) : resolve())));
  }

  /** The next datagram received (waiting up to `timeoutMs`), with the `ip:port` it came from. */
  async next(timeoutMs = 5000): Promise<{ data: Buffer; from: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (Date.now() > deadline) throw new Error(`${this.ip}:${this.port} received nothing in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.inbox.shift()!;
  }

  /** Datagrams received and not taken yet. */
  get pending(): number {
    return this.inbox.length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Ports free on `ip` right now (bound together so they differ, then released). */
export async function freeUdpPorts(count: number, ip = '127.0.0.1'): Promise<number[]> {
  const peers = await Promise.all(Array.from({ length: count }, () => UdpPeer.open(ip)));
  await Promise.all(peers.map((p) => p.close()));
  return peers.map((p) => p.port);
}

/** Polls `condition` until it holds; fails after a generous `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

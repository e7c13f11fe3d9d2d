import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RelayForward, RelayService } from '../contracts';
import type { Logger } from '../logger';
import { decodeBindingRequest, encodeBindingResponse } from './stun';
import { TokenBucket } from './token-bucket';
import { canonicalIp, formatEndpoint } from './udp-address';

export interface RelayStats {
  forwardedPackets: number;
  forwardedBytes: number;
  dropped: { unknownSource: number; rateLimited: number; noPeerYet: number };
  /** Forwards (pairs) being served. */
  forwards: number;
}

export interface RelayForwarderOptions {
  /** Address the forward and reflector sockets bind to; an IPv6 one (`::`) makes them dual-stack. */
  bindAddress?: string;
  logger?: Logger;
  /** Milliseconds, for the rate limits; tests freeze it. */
  now?: () => number;
}

/**
 * Burst of each pair's buckets: a quarter second of its rate, so a pair can absorb the jitter of a WireGuard flow
 * (a TCP window arriving at once) without averaging its limit over long idle periods. The byte bucket holds at least
 * one largest UDP datagram and the packet bucket one packet, so a low limit still lets every datagram through.
 */
const BURST_SECONDS = 0.25;
const MIN_BURST_BYTES = 65_535;

/** One side of a pair: the relay port it talks to, the IP it must come from, and where it was last seen. */
interface Side {
  port: number;
  source: string;
  address: string;
  /** 0 until the side has sent something. */
  remotePort: number;
}

interface Pair {
  sides: [Side, Side];
  bytes: TokenBucket;
  packets: TokenBucket;
}

/** A forward port's socket and, mutable so a config push can re-point it, the pair side it serves. */
interface ForwardSocket {
  socket: Socket;
  pair: Pair;
  side: 0 | 1;
}

/**
 * The relay: per pair, two UDP ports, each answering one side (by source IP) and sending what it gets out of the
 * other port to the other side's latest address. It forwards the received buffers as they are: it only ever sees
 * sealed WireGuard datagrams, never parses them and holds no key. Its reflector answers STUN Binding Requests with the
 * requester's address, the NAT mapping a node learns its reflexive endpoint from.
 *
 * A source IP is all the relay checks; a spoofed datagram can at worst move where one side's traffic goes, and
 * WireGuard drops what it cannot authenticate.
 */
export class RelayForwarder {
  private readonly bindAddress: string;
  private readonly type: SocketType;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private pairs = new Map<string, Pair>();
  private readonly forwardSockets = new Map<number, ForwardSocket>();
  private reflector: { port: number; socket: Socket } | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly counters = { forwardedPackets: 0, forwardedBytes: 0, unknownSource: 0, rateLimited: 0, noPeerYet: 0 };

  constructor(options: RelayForwarderOptions = {}) {
    this.bindAddress = options.bindAddress ?? '0.0.0.0';
    this.type = isIPv6(this.bindAddress) ? 'udp6' : 'udp4';
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Serves `service` (null: nothing). Unchanged forwards keep their sockets and learned addresses; a forward whose
   * ports or sources changed starts afresh. Calls run one after another. Throws, changing nothing, on an invalid
   * service; throws after applying the rest when some port cannot be bound (the next apply retries it).
   */
  apply(service: RelayService | null): Promise<void> {
    const run = this.queue.then(() => this.applyNow(service === null ? null : validated(service)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    return this.apply(null);
  }

  stats(): RelayStats {
    const c = this.counters;
    return {
      forwardedPackets: c.forwardedPackets,
      forwardedBytes: c.forwardedBytes,
      dropped: { unknownSource: c.unknownSource, rateLimited: c.rateLimited, noPeerYet: c.noPeerYet },
      forwards: this.pairs.size,
    };
  }

  /** Each side's latest address by the relay port it talks to: its reflexive endpoint (sides not heard yet are left out). */
  observed(): Array<{ port: number; address: string }> {
    const out: Array<{ port: number; address: string }> = [];
    for (const pair of this.pairs.values()) {
      for (const side of pair.sides) if (side.remotePort !== 0) out.push({ port: side.port, address: formatEndpoint(side.address, side.remotePort) });
    }
    return out;
  }

  private async applyNow(service: RelayService | null): Promise<void> {
    const pairs = new Map<string, Pair>();
    const wanted = new Map<number, { pair: Pair; side: 0 | 1 }>();
    for (const forward of service?.forwards ?? []) {
      const key = `${forward.ports.join(',')}/${forward.sources.join(',')}`;
      const kept = this.pairs.get(key);
      const pair = kept ? retuned(kept, service!) : newPair(forward, service!, this.now());
      pairs.set(key, pair);
      wanted.set(forward.ports[0], { pair, side: 0 });
      wanted.set(forward.ports[1], { pair, side: 1 });
    }
    // Re-point the kept sockets before any await, so no datagram meets a half-applied state.
    const closing: Socket[] = [];
    for (const [port, entry] of this.forwardSockets) {
      const target = wanted.get(port);
      if (target) Object.assign(entry, target);
      else {
        this.forwardSockets.delete(port);
        closing.push(entry.socket);
      }
    }
    const reflectPort = service?.reflectPort ?? null;
    if (this.reflector && this.reflector.port !== reflectPort) {
      closing.push(this.reflector.socket);
      this.reflector = null;
    }
    this.pairs = pairs;
    await Promise.all(closing.map(closeSocket));

    const failed: string[] = [];
    const opening: Array<Promise<void>> = [];
    for (const [port, target] of wanted) {
      if (this.forwardSockets.has(port)) continue;
      opening.push(
        this.open(port, (socket) => {
          const entry: ForwardSocket = { socket, ...target };
          socket.on('message', (msg, rinfo) => this.forward(entry, msg, rinfo));
          return entry;
        }).then(
          (entry) => void this.forwardSockets.set(port, entry),
          (err: Error) => void failed.push(`${port} (${err.message})`),
        ),
      );
    }
    if (reflectPort !== null && !this.reflector) {
      opening.push(
        this.open(reflectPort, (socket) => {
          socket.on('message', (msg, rinfo) => reflect(socket, msg, rinfo));
          return socket;
        }).then(
          (socket) => void (this.reflector = { port: reflectPort, socket }),
          (err: Error) => void failed.push(`${reflectPort} (${err.message})`),
        ),
      );
    }
    await Promise.all(opening);
    if (closing.length > 0 || opening.length > 0) {
      this.logger?.info('relay applied', { forwards: pairs.size, reflectPort, closedSockets: closing.length, openedSockets: opening.length - failed.length });
    }
    if (failed.length > 0) throw new Error(`relay could not bind UDP ports ${failed.join(', ')} on ${this.bindAddress}`);
  }

  /** The hot path: no allocation of ours, the buffer goes out as it came. */
  private forward(entry: ForwardSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const { pair } = entry;
    const from = pair.sides[entry.side];
    if (!sameIp(rinfo.address, from.source)) {
      this.counters.unknownSource++;
      return;
    }
    // Latest wins: a NAT may remap the side to a new port (or address) at any time.
    from.address = rinfo.address;
    from.remotePort = rinfo.port;
    const to = pair.sides[1 - entry.side];
    const out = this.forwardSockets.get(to.port);
    if (to.remotePort === 0 || out === undefined) {
      this.counters.noPeerYet++;
      return;
    }
    const now = this.now();
    if (!pair.bytes.has(msg.length, now) || !pair.packets.has(1, now)) {
      this.counters.rateLimited++;
      return;
    }
    pair.bytes.take(msg.length);
    pair.packets.take(1);
    out.socket.send(msg, to.remotePort, to.address);
    this.counters.forwardedPackets++;
    this.counters.forwardedBytes += msg.length;
  }

  private open<T>(port: number, setUp: (socket: Socket) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: this.type });
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind({ port, address: this.bindAddress, exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', (err) => this.logger?.warn('relay socket error', { port, err }));
        resolve(setUp(socket));
      });
    });
  }
}

/** Answers a well-formed Binding Request with where it came from; anything else gets no answer. */
function reflect(socket: Socket, msg: Buffer, rinfo: RemoteInfo): void {
  const transactionId = decodeBindingRequest(msg);
  // A scoped IPv6 source (fe80::1%eth0) has no STUN form: no answer rather than a throw in the socket's handler.
  if (transactionId !== null && canonicalIp(rinfo.address) !== null) {
    socket.send(encodeBindingResponse(transactionId, rinfo), rinfo.port, rinfo.address);
  }
}

/** A new pair starts with full buckets. */
function newPair(forward: RelayForward, service: RelayService, now: number): Pair {
  const side = (i: 0 | 1): Side => ({ port: forward.ports[i], source: forward.sources[i], address: '', remotePort: 0 });
  const [bytesRate, bytesBurst, packetsRate, packetsBurst] = limits(service);
  return { sides: [side(0), side(1)], bytes: new TokenBucket(bytesRate, bytesBurst, now), packets: new TokenBucket(packetsRate, packetsBurst, now) };
}

function retuned(pair: Pair, service: RelayService): Pair {
  const [bytesRate, bytesBurst, packetsRate, packetsBurst] = limits(service);
  pair.bytes.retune(bytesRate, bytesBurst);
  pair.packets.retune(packetsRate, packetsBurst);
  return pair;
}

function limits(service: RelayService): [number, number, number, number] {
  const bytesRate = (service.pairRateMbit * 1_000_000) / 8;
  const packetsRate = service.pairPacketsPerSecond;
  return [bytesRate, Math.max(MIN_BURST_BYTES, bytesRate * BURST_SECONDS), packetsRate, Math.max(1, packetsRate * BURST_SECONDS)];
}

/** `address` as a socket reports it (a dual-stack one writes IPv4 as `::ffff:a.b.c.d`) against a canonical IP. */
function sameIp(address: string, source: string): boolean {
  if (address === source) return true;
  return address.length === source.length + 7 && address.startsWith('::ffff:') && address.endsWith(source);
}

/** The service with its sources in canonical form, or an error naming what is wrong. */
function validated(service: RelayService): RelayService {
  const port = (p: unknown) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;
  const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0;
  if (!port(service.reflectPort)) throw new Error(`relay: invalid reflectPort ${service.reflectPort}`);
  if (!positive(service.pairRateMbit) || !positive(service.pairPacketsPerSecond)) throw new Error('relay: pair limits must be positive');
  const used = new Set([service.reflectPort]);
  const forwards = service.forwards.map((f): RelayForward => {
    const sources = f.sources.map(canonicalIp);
    if (f.ports.length !== 2 || f.sources.length !== 2 || !f.ports.every(port) || sources.some((s) => s === null)) {
      throw new Error(`relay: invalid forward ${JSON.stringify(f)}`);
    }
    for (const p of f.ports) {
      if (used.has(p)) throw new Error(`relay: port ${p} is used twice`);
      used.add(p);
    }
    return { ports: [f.ports[0], f.ports[1]], sources: [sources[0]!, sources[1]!] };
  });
  return { ...service, forwards };
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

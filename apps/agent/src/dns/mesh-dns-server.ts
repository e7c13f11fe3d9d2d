import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Logger } from '../logger';
import { answerQuery } from './mesh-dns-answer';
import type { MeshNames } from './mesh-names';

export interface MeshDnsServerOptions {
  /** 53 by default (resolvers take no port); 0 picks a free one (tests), which TCP then shares. */
  port?: number;
  logger?: Logger;
}

interface Listening {
  address: string;
  port: number;
  udp: dgram.Socket;
  tcp: net.Server;
  connections: Set<net.Socket>;
}

/** TCP is for resolvers retrying a truncated answer (ours never are) and for `dig +tcp`: a few clients at most. */
const MAX_TCP_CONNECTIONS = 64;
const TCP_IDLE_MS = 10_000;

/**
 * The node's DNS server for the mesh names, on its overlay address, over UDP and TCP. `serve` follows every config:
 * the names swap at once (the next query sees them), the sockets move only when the address does.
 */
export class MeshDnsServer {
  private names: MeshNames | null = null;
  private listening: Listening | null = null;
  /** Binds and unbinds run one at a time, in call order. */
  private pending: Promise<void> = Promise.resolve();
  private readonly port: number;
  private readonly logger?: Logger;

  constructor(options: MeshDnsServerOptions = {}) {
    this.port = options.port ?? 53;
    this.logger = options.logger;
  }

  /**
   * Answers `names` on `bindAddress`; either null stops answering. Rejects when the address cannot be bound (not yet
   * on the interface, the port taken): the server is then stopped, and the next call tries again.
   */
  serve(bindAddress: string | null, names: MeshNames | null): Promise<void> {
    const wanted = bindAddress !== null && names !== null ? bindAddress : null;
    this.names = wanted === null ? null : names;
    return this.serialize(async () => {
      if ((this.listening?.address ?? null) === wanted) return;
      await this.unbind();
      if (wanted !== null) this.listening = await this.bind(wanted);
    });
  }

  close(): Promise<void> {
    this.names = null;
    return this.serialize(() => this.unbind());
  }

  /** Where it answers (the port is the bound one, when the option was 0), or null. */
  address(): { address: string; port: number } | null {
    return this.listening ? { address: this.listening.address, port: this.listening.port } : null;
  }

  private serialize(job: () => Promise<void>): Promise<void> {
    const run = this.pending.then(job);
    this.pending = run.catch(() => undefined);
    return run;
  }

  private async bind(address: string): Promise<Listening> {
    const udp = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address, port: this.port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const port = udp.address().port;
    const connections = new Set<net.Socket>();
    const tcp = net.createServer((socket) => this.onConnection(socket, connections));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    udp.on('error', (err) => this.logger?.warn('DNS socket failed', { err }));
    tcp.on('error', (err) => this.logger?.warn('DNS TCP listener failed', { err }));
    udp.on('message', (message, from) => {
      const response = this.respond(message, dnsPacket.encode);
      if (response) udp.send(response, from.port, from.address, () => undefined);
    });
    this.logger?.info('answering mesh names', { address, port, domain: this.names?.domain });
    return { address, port, udp, tcp, connections };
  }

  /** DNS over TCP: each message and each response behind its 2-byte length. */
  private onConnection(socket: net.Socket, connections: Set<net.Socket>): void {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined); // a client resetting is its business
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const end = 2 + buffered.readUInt16BE(0);
        const response = this.respond(buffered.subarray(2, end), dnsPacket.streamEncode);
        buffered = buffered.subarray(end);
        if (response) socket.write(response);
      }
    });
  }

  /** Null drops the message: nothing to answer with, or nothing that is a query (never an exception on a socket). */
  private respond(message: Buffer, encode: (packet: dnsPacket.Packet) => Buffer): Buffer | null {
    const names = this.names;
    if (!names) return null;
    try {
      const response = answerQuery(message, names);
      if (!response) this.logger?.debug('dropped a message that is not a DNS query', { bytes: message.length });
      return response && encode(response);
    } catch (err) {
      this.logger?.debug('dropped a DNS query that could not be answered', { err });
      return null;
    }
  }

  private async unbind(): Promise<void> {
    const listening = this.listening;
    if (!listening) return;
    this.listening = null;
    for (const socket of listening.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => listening.udp.close(() => resolve())),
      new Promise<void>((resolve) => listening.tcp.close(() => resolve())),
    ]);
  }
}

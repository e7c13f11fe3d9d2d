import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { promisify } from 'node:util';
import * as dnsPacket from 'dns-packet';
import type { NodeConfig, PeerConfig } from '../contracts';
import { createLogger } from '../logger';
import { MeshDnsServer } from './mesh-dns-server';
import { meshNames, type MeshNames } from './mesh-names';

const logger = createLogger({ level: 'error', write: () => undefined });
const FIRST = '127.0.53.1';
const SECOND = '127.0.53.2';

const peer = (i: number, name: string, group: string): PeerConfig =>
  ({ publicKey: `KEY${i}`, endpoint: null, allowedIps: [`100.64.0.${i}/32`], persistentKeepalive: 0, name, group });

const names = (peers: PeerConfig[] = [peer(9, 'db-1', 'db'), peer(10, 'web-1', 'web')]): MeshNames => {
  const config: NodeConfig = {
    version: 3, interface: { address: '100.64.0.7/10', listenPort: 51820 }, peers,
    routes: [], servedRoutes: [], firewall: [], qos: [], reachableGroups: ['db'], dns: { domain: 'acme.mesh', name: 'app-1' },
  };
  return meshNames(config)!;
};

/** dns-packet decodes the response code too; its types leave it out. */
type Reply = dnsPacket.DecodedPacket & { rcode: string };
const decode = (message: Buffer) => dnsPacket.decode(message) as Reply;

/** Sends raw bytes over UDP; resolves with the decoded reply, or null when none comes within `waitMs`. */
function exchange(address: string, port: number, message: Buffer, waitMs = 1000): Promise<Reply | null> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const done = (value: Reply | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), waitMs);
    socket.on('message', (reply) => done(decode(reply)));
    socket.on('error', reject);
    socket.send(message, port, address);
  });
}

let nextId = 100;
const query = (name: string, type: dnsPacket.RecordType = 'A') =>
  dnsPacket.encode({ type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });

describe('MeshDnsServer', () => {
  let server: MeshDnsServer;
  let port: number;
  const ask = async (name: string, type: dnsPacket.RecordType = 'A', address = FIRST) => {
    const reply = await exchange(address, port, query(name, type));
    if (!reply) throw new Error(`no answer for ${name} at ${address}`);
    return reply;
  };

  beforeEach(async () => {
    server = new MeshDnsServer({ port: 0, logger });
    await server.serve(FIRST, names());
    port = server.address()!.port;
  });
  afterEach(() => server.close());

  it('answers A for its own name and a reachable peer, authoritatively, echoing id and question', async () => {
    const message = query('db-1.acme.mesh');
    const reply = (await exchange(FIRST, port, message))!;
    expect(reply).toMatchObject({
      id: dnsPacket.decode(message).id, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true, flag_ra: false,
      questions: [{ name: 'db-1.acme.mesh', type: 'A', class: 'IN' }],
      answers: [{ name: 'db-1.acme.mesh', type: 'A', ttl: 5, data: '100.64.0.9' }],
    });
    expect((await ask('app-1.acme.mesh')).answers).toMatchObject([{ data: '100.64.0.7' }]);
  });

  it('answers NXDOMAIN with the SOA for an unreachable peer and for unknown names', async () => {
    for (const name of ['web-1.acme.mesh', 'nobody.acme.mesh', 'x.db-1.acme.mesh']) {
      const reply = await ask(name);
      expect(reply).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
      expect(reply.authorities).toMatchObject([
        { type: 'SOA', name: 'acme.mesh', data: { mname: 'app-1.acme.mesh', serial: 3, minimum: 5 } },
      ]);
    }
  });

  it('answers AAAA of a known name and the domain itself with no records, and refuses names outside the domain', async () => {
    expect(await ask('db-1.acme.mesh', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(await ask('acme.mesh')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect((await ask('acme.mesh', 'SOA')).answers).toMatchObject([{ type: 'SOA', name: 'acme.mesh' }]);
    for (const name of ['example.com', 'db-1.acme.mesh.example.com', 'mesh']) {
      expect(await ask(name)).toMatchObject({ rcode: 'REFUSED', flag_aa: true, answers: [] });
    }
  });

  it('matches names without case, answering with the name as asked', async () => {
    const reply = await ask('DB-1.Acme.MESH');
    expect(reply).toMatchObject({ rcode: 'NOERROR', answers: [{ name: 'DB-1.Acme.MESH', data: '100.64.0.9' }] });
  });

  it('swaps names on serve() without rebinding: a rename or a removal answers at once', async () => {
    await server.serve(FIRST, names([peer(9, 'db-2', 'db')]));
    expect(server.address()).toEqual({ address: FIRST, port });
    expect((await ask('db-1.acme.mesh')).rcode).toBe('NXDOMAIN');
    expect((await ask('db-2.acme.mesh')).answers).toMatchObject([{ data: '100.64.0.9' }]);
    await server.serve(FIRST, names([]));
    expect((await ask('db-2.acme.mesh')).rcode).toBe('NXDOMAIN');
    expect((await ask('app-1.acme.mesh')).rcode).toBe('NOERROR');
  });

  it('moves to a new address and stops answering on the old one; null stops it', async () => {
    await server.serve(SECOND, names());
    const moved = server.address()!;
    expect(moved.address).toBe(SECOND);
    expect((await exchange(SECOND, moved.port, query('db-1.acme.mesh')))?.answers).toMatchObject([{ data: '100.64.0.9' }]);
    expect(await exchange(FIRST, port, query('db-1.acme.mesh'), 300)).toBeNull();
    await server.serve(SECOND, null);
    expect(server.address()).toBeNull();
    expect(await exchange(SECOND, moved.port, query('db-1.acme.mesh'), 300)).toBeNull();
  });

  it('ignores malformed input and answers the next query', async () => {
    const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'db-1.acme.mesh' }] });
    const truncated = query('db-1.acme.mesh').subarray(0, 20);
    for (const junk of [Buffer.from([1, 2, 3]), truncated, response, Buffer.alloc(600, 0xff)]) {
      expect(await exchange(FIRST, port, junk, 200)).toBeNull();
    }
    const noQuestion = await exchange(FIRST, port, dnsPacket.encode({ type: 'query', id: 5, questions: [] }));
    expect(noQuestion).toMatchObject({ id: 5, rcode: 'FORMERR' });
    expect((await ask('db-1.acme.mesh')).answers).toMatchObject([{ data: '100.64.0.9' }]);
  });

  it('answers over TCP too, several length-prefixed queries on one connection', async () => {
    const replies = await new Promise<Reply[]>((resolve, reject) => {
      const socket = net.connect({ host: FIRST, port });
      let buffered = Buffer.alloc(0);
      const out: Reply[] = [];
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const end = 2 + buffered.readUInt16BE(0);
          out.push(decode(buffered.subarray(2, end)));
          buffered = buffered.subarray(end);
        }
        if (out.length === 2) socket.end(() => resolve(out));
      });
      socket.on('error', reject);
      const both = Buffer.concat([dnsPacket.streamEncode(dnsPacket.decode(query('db-1.acme.mesh'))), dnsPacket.streamEncode(dnsPacket.decode(query('web-1.acme.mesh')))]);
      socket.write(both.subarray(0, 5)); // a message split across segments
      setTimeout(() => socket.write(both.subarray(5)), 20);
    });
    expect(replies.map((r) => r.rcode)).toEqual(['NOERROR', 'NXDOMAIN']);
  });

  it('rejects when the port is taken, and binds on the next call once it is free', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind({ address: SECOND, port: 0 }, () => resolve()));
    const taken = squatter.address().port;
    const other = new MeshDnsServer({ port: taken, logger });
    try {
      await expect(other.serve(SECOND, names())).rejects.toThrow(/EADDRINUSE/);
      expect(other.address()).toBeNull();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      await other.serve(SECOND, names());
      expect((await exchange(SECOND, taken, query('db-1.acme.mesh')))?.rcode).toBe('NOERROR');
    } finally {
      await other.close();
    }
  });

  it('answers dig: +short for a name, NXDOMAIN status for an unreachable one, and over TCP', async () => {
    const dig = async (...args: string[]) =>
      (await promisify(execFile)('/usr/bin/dig', [`@${FIRST}`, '-p', String(port), '+time=2', '+tries=1', ...args])).stdout;
    expect((await dig('+short', 'db-1.acme.mesh')).trim()).toBe('100.64.0.9');
    expect((await dig('+short', '+tcp', 'DB-1.acme.mesh')).trim()).toBe('100.64.0.9');
    const nx = await dig('+noall', '+comments', 'web-1.acme.mesh');
    expect(nx).toMatch(/status: NXDOMAIN/);
    expect(nx).toMatch(/flags: qr aa rd;/);
    expect(await dig('+noall', '+comments', 'example.com')).toMatch(/status: REFUSED/);
  });
});

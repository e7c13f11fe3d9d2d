import { inNs } from './netns';

/**
 * Small UDP programs run with `node -e` inside a namespace: an echo server that tells each sender the source it saw
 * (what a STUN server does, so a home learns its NAT mapping), and a peer that sends to targets for a while and
 * reports what it received. With these a test can check NAT mappings and do a manual UDP hole punch.
 */

/** Listens on address:port for each port given; answers every datagram with the sender's "ip:port". Prints "ready". */
export const UDP_ECHO = `
const dgram = require('dgram');
const [address, ...ports] = process.argv.slice(1);
let left = ports.length;
for (const port of ports) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(r.address + ':' + r.port, r.port, r.address));
  s.bind(Number(port), address, () => { if (--left === 0) console.log('ready'); });
}
`;

/**
 * Binds address:port, sends text to every target each \`every\` ms for \`ms\` ms (or until the first datagram comes in,
 * with untilReply), and prints as JSON each datagram it received. Send errors (no route) are expected and ignored.
 */
const UDP_PEER = `
const dgram = require('dgram');
const o = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
const received = [];
let timer, end;
const send = () => { for (const t of o.targets) { const [h, p] = t.split(':'); s.send(o.text, Number(p), h, () => {}); } };
const finish = () => { clearInterval(timer); clearTimeout(end); s.close(); console.log(JSON.stringify(received)); };
s.on('message', (m, r) => { received.push({ from: r.address + ':' + r.port, text: String(m) }); if (o.untilReply) finish(); });
s.bind(o.port, o.address, () => { send(); timer = setInterval(send, o.every); end = setTimeout(finish, o.ms); });
`;

export interface Datagram {
  /** The sender's "ip:port" as this socket saw it. */
  from: string;
  text: string;
}

export interface UdpPeerOptions {
  /** Where to bind (the namespace's own address) and from which fixed port. */
  address: string;
  port: number;
  /** "ip:port" each. None: only listen. */
  targets: string[];
  text?: string;
  ms: number;
  every?: number;
  untilReply?: boolean;
}

/** Runs the UDP peer in `ns`; resolves with the datagrams it received. */
export async function udpPeer(ns: string, options: UdpPeerOptions): Promise<Datagram[]> {
  const o = { text: 'hello', every: 100, untilReply: false, ...options };
  return JSON.parse(await inNs(ns, process.execPath, ['-e', UDP_PEER, JSON.stringify(o)], o.ms + 15_000)) as Datagram[];
}

/** The "ip:port" an echo server at `echo` saw for address:port in `ns` (its NAT mapping towards that server), or null. */
export async function mappedEndpoint(ns: string, address: string, port: number, echo: string, ms = 2_000): Promise<string | null> {
  const replies = await udpPeer(ns, { address, port, targets: [echo], ms, untilReply: true });
  return replies[0]?.text ?? null;
}

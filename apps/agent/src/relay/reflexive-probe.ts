import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { decodeBindingResponse, encodeBindingRequest } from './stun';
import { parseEndpoint } from './udp-address';

export interface ReflexiveAddress {
  /** The address and port the reflector saw: this node's NAT mapping of `localPort`. */
  address: string;
  port: number;
  localPort: number;
}

/**
 * Asks a STUN reflector (`host:port`, `[v6]:port`) where this node's datagrams come from. Sends a Binding Request from
 * `localPort` (ephemeral unless given), resends it three times at even intervals within `timeoutMs` (UDP may lose
 * any of them) and resolves with the first matching answer, or null when none comes in time. A NAT that keeps ports
 * answers with `port === localPort`. Rejects on local failures: a bad `server`, an unbindable port, an unresolvable
 * host.
 */
export async function probeReflexive(
  server: string,
  options: { localPort?: number; bindAddress?: string; timeoutMs?: number } = {},
): Promise<ReflexiveAddress | null> {
  const target = parseEndpoint(server);
  if (target === null) throw new Error(`not a host:port: ${server}`);
  const timeoutMs = options.timeoutMs ?? 2000;
  const v6 = isIPv6(target.host) || (options.bindAddress !== undefined && isIPv6(options.bindAddress));
  const socket = createSocket({ type: v6 ? 'udp6' : 'udp4' });
  const transactionId = randomBytes(12);
  const request = encodeBindingRequest(transactionId);
  const timers: NodeJS.Timeout[] = [];
  try {
    return await new Promise<ReflexiveAddress | null>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (msg) => {
        const mapped = decodeBindingResponse(msg, transactionId);
        if (mapped) resolve({ ...mapped, localPort: socket.address().port });
      });
      socket.bind({ port: options.localPort ?? 0, address: options.bindAddress, exclusive: true }, () => {
        const send = () => socket.send(request, target.port, target.host, (err) => err && reject(err));
        const attempts = 4;
        for (let i = 0; i < attempts; i++) timers.push(setTimeout(send, (i * timeoutMs) / attempts));
        timers.push(setTimeout(() => resolve(null), timeoutMs));
      });
    });
  } finally {
    timers.forEach(clearTimeout);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

import type { LivePeer } from './wireguard-port';

/** `wg show <if> dump`, without the interface's private key, which is dropped while parsing. */
export interface WgDump {
  publicKey: string | null;
  listenPort: number | null;
  peers: LivePeer[];
}

const orNull = (value: string | undefined): string | null => (value === undefined || value === '(none)' ? null : value);

/** The fwmark in the dump's interface line (column 4: `off` or a number, as `wg` prints it), 0 when off. */
export function wgDumpFwmark(text: string): number {
  const head = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n')).split('\t');
  const mark = head[3]?.trim();
  return mark === undefined || mark === 'off' || mark === '' ? 0 : Number(mark) || 0;
}

/**
 * Parses the tab-separated dump: first line private-key, public-key, listen-port, fwmark; then per peer
 * public-key, preshared-key, endpoint, allowed-ips, latest-handshake, transfer-rx, transfer-tx, persistent-keepalive.
 */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('empty wg dump');
  const head = lines[0].split('\t');
  if (head.length < 4) throw new Error('unexpected wg dump interface line');
  const port = Number(head[2]);
  const peers = lines.slice(1).map((line): LivePeer => {
    const f = line.split('\t');
    if (f.length < 8) throw new Error('unexpected wg dump peer line');
    return {
      publicKey: f[0],
      endpoint: orNull(f[2]),
      allowedIps: f[3] === '(none)' || f[3] === '' ? [] : f[3].split(','),
      latestHandshake: Number(f[4]) || 0,
      rxBytes: Number(f[5]) || 0,
      txBytes: Number(f[6]) || 0,
      persistentKeepalive: f[7] === 'off' ? 0 : Number(f[7]) || 0,
    };
  });
  return { publicKey: orNull(head[1]), listenPort: Number.isInteger(port) && port > 0 ? port : null, peers };
}

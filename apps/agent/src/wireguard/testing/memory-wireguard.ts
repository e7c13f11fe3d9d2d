import { readFileSync } from 'node:fs';
import { publicKeyOf } from '../../identity/key-pair';
import type { LiveInterface, PlanStep, WireGuardPort } from '../wireguard-port';

/**
 * For specs: a WireGuardPort in memory that keeps addresses and peers by key — enough to see which config the
 * agent made live, without root, namespaces or wireguard-go.
 */
export class MemoryWireGuard implements WireGuardPort {
  state: LiveInterface | null = null;
  /** When set, `set-private-key` reads this file (as `wg set … private-key FILE` does) and takes its public key. */
  privateKeyPath: string | null = null;
  /** How many times the interface was created (a key rotation must not recreate it). */
  creations = 0;
  /** Keepalives sent by `send-keepalive`, as "publicKey endpoint" at the time. */
  keepalives: string[] = [];

  constructor(readonly interfaceName = 'mgspec0') {}

  async read() {
    return this.state && structuredClone(this.state);
  }

  async create() {
    this.creations++;
    this.state = { publicKey: null, listenPort: null, up: false, addresses: [], routes: [], peers: [], fwmark: 0 };
  }

  async apply(steps: PlanStep[]) {
    const s = this.state!;
    for (const step of steps) {
      if (step.kind === 'set-private-key' && this.privateKeyPath !== null) {
        s.publicKey = publicKeyOf(Buffer.from(readFileSync(this.privateKeyPath, 'utf8').trim(), 'base64')).toString('base64');
      }
      if (step.kind === 'add-address') s.addresses.push(step.address);
      if (step.kind === 'remove-address') s.addresses = s.addresses.filter((a) => a !== step.address);
      if (step.kind === 'remove-peer') s.peers = s.peers.filter((p) => p.publicKey !== step.publicKey);
      if (step.kind === 'upsert-peer') {
        s.peers = s.peers.filter((p) => p.publicKey !== step.peer.publicKey);
        s.peers.push({ ...step.peer, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
      }
      if (step.kind === 'set-endpoint') {
        // As `wg set … peer K endpoint E`: an unknown key becomes a peer with no allowed IPs.
        const peer = s.peers.find((p) => p.publicKey === step.publicKey);
        if (peer) peer.endpoint = step.endpoint;
        else s.peers.push({ publicKey: step.publicKey, endpoint: step.endpoint, allowedIps: [], persistentKeepalive: 0, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
      }
      if (step.kind === 'send-keepalive') {
        const peer = s.peers.find((p) => p.publicKey === step.publicKey);
        if (peer) this.keepalives.push(`${peer.publicKey} ${peer.endpoint}`);
      }
    }
  }

  async destroy() {
    this.state = null;
  }

  /** Public keys of the live peers, sorted. */
  peerKeys(): string[] {
    return (this.state?.peers ?? []).map((p) => p.publicKey).sort();
  }
}

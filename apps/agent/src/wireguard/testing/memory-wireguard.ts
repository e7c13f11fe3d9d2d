import type { LiveInterface, PlanStep, WireGuardPort } from '../wireguard-port';

/**
 * For specs: a WireGuardPort in memory that keeps addresses and peers by key — enough to see which config the
 * agent made live, without root, namespaces or wireguard-go.
 */
export class MemoryWireGuard implements WireGuardPort {
  state: LiveInterface | null = null;

  constructor(readonly interfaceName = 'mgspec0') {}

  async read() {
    return this.state && structuredClone(this.state);
  }

  async create() {
    this.state = { publicKey: null, listenPort: null, up: false, addresses: [], routes: [], peers: [], fwmark: 0 };
  }

  async apply(steps: PlanStep[]) {
    const s = this.state!;
    for (const step of steps) {
      if (step.kind === 'add-address') s.addresses.push(step.address);
      if (step.kind === 'remove-address') s.addresses = s.addresses.filter((a) => a !== step.address);
      if (step.kind === 'remove-peer') s.peers = s.peers.filter((p) => p.publicKey !== step.publicKey);
      if (step.kind === 'upsert-peer') {
        s.peers = s.peers.filter((p) => p.publicKey !== step.peer.publicKey);
        s.peers.push({ ...step.peer, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
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

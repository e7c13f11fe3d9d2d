import { networkInterfaces } from 'node:os';
import { probeReflexive, type ReflexiveAddress } from '../relay/reflexive-probe';
import type { Logger } from '../logger';

/** The overlay (100.64.0.0/10): never a place to dial WireGuard at. */
const isOverlay = (ip: string) => {
  const [a, b] = ip.split('.').map(Number);
  return a === 100 && b >= 64 && b < 128;
};

export interface CandidateFinderOptions {
  listenPort: number;
  /** The WireGuard interface: its addresses are the overlay's, not candidates. */
  interfaceName: string;
  logger: Logger;
  probe?: (server: string) => Promise<ReflexiveAddress | null>;
  interfaces?: typeof networkInterfaces;
}

/**
 * Where peers may dial this node directly, best first (HeartbeatDto.candidates): its reflexive address when its NAT
 * keeps ports (asked of a relay's reflector from a fresh port: a mapping that keeps that port keeps the WireGuard
 * port too), then its local IPv4 addresses with the listen port (for peers on the same network). A NAT that
 * randomises ports gives no reflexive candidate: peers could not reach the mapping, only a relay path helps.
 */
export class CandidateFinder {
  private readonly probe: (server: string) => Promise<ReflexiveAddress | null>;
  private readonly interfaces: typeof networkInterfaces;
  private lastNat: string | null = null;

  constructor(private readonly options: CandidateFinderOptions) {
    this.probe = options.probe ?? ((server) => probeReflexive(server, { timeoutMs: 2000 }));
    this.interfaces = options.interfaces ?? networkInterfaces;
  }

  async find(reflectors: readonly string[]): Promise<string[]> {
    const local = this.localAddresses();
    const reflexive = reflectors.length ? await this.reflexive(reflectors, local) : null;
    const port = this.options.listenPort;
    return [...new Set([...(reflexive ? [`${reflexive}:${port}`] : []), ...local.map((ip) => `${ip}:${port}`)])].slice(0, 8);
  }

  private localAddresses(): string[] {
    const out: string[] = [];
    for (const [name, addresses] of Object.entries(this.interfaces())) {
      if (name === this.options.interfaceName) continue;
      for (const a of addresses ?? []) {
        if (a.family === 'IPv4' && !a.internal && !isOverlay(a.address)) out.push(a.address);
      }
    }
    return out.sort();
  }

  /** The NAT's public address when it keeps ports; null behind one that does not, or with no NAT at all. */
  private async reflexive(reflectors: readonly string[], local: readonly string[]): Promise<string | null> {
    for (const server of reflectors) {
      const seen = await this.probe(server).catch(() => null);
      if (!seen) continue;
      const nat = local.includes(seen.address) ? 'none' : seen.port === seen.localPort ? 'keeps ports' : 'randomises ports';
      if (nat !== this.lastNat) this.options.logger.info('NAT detected', { nat, reflector: server, publicAddress: seen.address });
      this.lastNat = nat;
      return nat === 'keeps ports' ? seen.address : null;
    }
    return null;
  }
}

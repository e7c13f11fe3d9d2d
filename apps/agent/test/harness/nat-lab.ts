import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process';
import { inNs, NamespaceSet, sh } from './netns';
import { assertNetworkTestPrerequisites } from './preflight';

/**
 * Two homes behind their own NAT routers on a small routed "internet", for NAT traversal tests:
 *
 *   home a 10.10.1.2 ── 10.10.1.1 nat a 198.18.1.1 ──┐
 *                                                    ├── public 198.18.0.1 (the control plane's address) ── 198.18.3.1 relay
 *   home b 10.10.2.2 ── 10.10.2.1 nat b 198.18.2.1 ──┘
 *
 * Each link is a veth pair (this kernel has no dummy interfaces) with its own /24; the public namespace routes
 * between them and has no route to either home's LAN. A NAT router masquerades LAN traffic out of its WAN and, like
 * a home router, drops whatever arrives unsolicited. Public addresses come from 198.18.0.0/15, which is never routed.
 * The control plane runs in the public namespace on 198.18.0.1 (ControlPlaneProcess's HUB_ADDRESS), e.g.
 * `new ControlPlaneProcess({ ns: lab.public.ns, dir: lab.dir, ... })`.
 */

/**
 * 'port-preserving': plain masquerade, which keeps the home's source port while it is free (a full-cone-like mapping
 * that UDP hole punching can use). 'random': a new random port per conntrack entry, so per destination (a
 * symmetric NAT, where only a relay gets through).
 */
export type NatMode = 'port-preserving' | 'random';

export interface NatSite {
  /** The home namespace and the home's address on its LAN. */
  home: string;
  homeAddress: string;
  lanPrefix: string;
  /** The NAT router's namespace, its LAN address (the home's gateway) and its public WAN address. */
  nat: string;
  lanAddress: string;
  wanAddress: string;
  /** The public router's address on the WAN link (the NAT router's default route). */
  gateway: string;
  /** The public namespace's interface facing this NAT router (for tc netem on the "internet" side). */
  uplink: string;
}

export interface PublicHost {
  ns: string;
  address: string;
}

export interface RelayHost extends PublicHost {
  gateway: string;
  uplink: string;
}

const WAN = 'wan0';
const LAN = 'lan0';
let labsMade = 0;

/** The NAT router's ruleset; its postrouting chain alone changes with the mode. */
const masquerade = (mode: NatMode) => `oifname "${WAN}" masquerade${mode === 'random' ? ' random,fully-random' : ''}`;
const natRuleset = (mode: NatMode) => `
table ip natlab {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; ${masquerade(mode)}; }
  # Nothing unsolicited is answered, and a dropped packet leaves no confirmed conntrack entry behind that would
  # otherwise claim the tuple a later outbound packet (a hole punch) needs.
  chain input {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
    iifname "${LAN}" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "${LAN}" oifname "${WAN}" accept
    iifname "${WAN}" oifname "${LAN}" ct state established,related accept
  }
}
`;

/** Preflight for the NAT labs: the WireGuard network prerequisites plus nftables and conntrack. */
export function assertNatLabPrerequisites(): void {
  assertNetworkTestPrerequisites();
  const missing = ['nft', 'conntrack'].filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`cannot run the NAT lab tests: ${missing.join(', ')} not found (apt-get install nftables conntrack)`);
}

export class NatLab {
  /** Short and unique per lab in this process: prefix WireGuard interface names with it (15 characters at most). */
  readonly tag = `mgn${process.pid % 10000}${String.fromCharCode(97 + (labsMade++ % 26))}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'mg-nat-lab-'));
  readonly public: PublicHost = { ns: `${this.tag}pub`, address: '198.18.0.1' };
  readonly relay: RelayHost = { ns: `${this.tag}relay`, address: '198.18.3.1', gateway: '198.18.3.254', uplink: 'relay' };
  readonly a: NatSite = site(this.tag, 'a', 1);
  readonly b: NatSite = site(this.tag, 'b', 2);
  readonly sites = [this.a, this.b] as const;
  private readonly namespaces = new NamespaceSet();
  private readonly processes: ManagedProcess[] = [];

  private constructor(private natMode: NatMode) {}

  get mode(): NatMode {
    return this.natMode;
  }

  /** Builds the whole lab; if any step fails, removes what was built and rethrows. */
  static async create(options: { natMode: NatMode }): Promise<NatLab> {
    const lab = new NatLab(options.natMode);
    try {
      await lab.build();
      return lab;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  /** Runs argv inside `ns`; resolves with stdout, rejects with stderr. */
  exec(ns: string, argv: string[], timeoutMs?: number): Promise<string> {
    return inNs(ns, argv[0], argv.slice(1), timeoutMs);
  }

  /** A long-running process inside `ns`, logging to `<dir>/<label>.log`; destroy() stops it. */
  spawn(ns: string, label: string, argv: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const child = new ManagedProcess(label, join(this.dir, `${label}.log`), 'ip', ['netns', 'exec', ns, ...argv], { PATH: process.env.PATH, ...env });
    this.processes.push(child);
    return child;
  }

  /** Remembers a WireGuard interface made in the lab, so destroy() (or the reaper) removes its wireguard-go socket. */
  trackWireGuard(ifname: string): void {
    this.namespaces.trackWireGuard(ifname);
  }

  /** Forgets every NAT mapping in both routers (as a home router's reboot or mapping timeout would). */
  async flushNat(): Promise<void> {
    for (const s of this.sites) await inNs(s.nat, 'conntrack', ['-F']);
  }

  /** Switches both routers' masquerade mode and flushes their mappings, so every new flow gets the new behaviour. */
  async setNatMode(mode: NatMode): Promise<void> {
    for (const s of this.sites) await nft(s.nat, `flush chain ip natlab postrouting\nadd rule ip natlab postrouting ${masquerade(mode)}\n`);
    this.natMode = mode;
    await this.flushNat();
  }

  /** Stops the lab's processes and deletes its namespaces (with their veths and anything else still inside). */
  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL', 2_000)));
    this.namespaces.teardownSync();
    if (process.env.KEEP_E2E_LOGS) process.stdout.write(`NAT lab logs kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  private async build(): Promise<void> {
    const pub = this.public.ns;
    await this.namespaces.add(pub);
    await sysctl(pub, 'net.ipv4.ip_forward=1');
    await sh('ip', ['-n', pub, 'address', 'add', `${this.public.address}/32`, 'dev', 'lo']);
    await this.link(pub, this.relay.uplink, `${this.relay.gateway}/24`, this.relay.ns, 'eth0', `${this.relay.address}/24`);
    await sh('ip', ['-n', this.relay.ns, 'route', 'add', 'default', 'via', this.relay.gateway]);
    for (const s of this.sites) {
      await this.link(pub, s.uplink, `${s.gateway}/24`, s.nat, WAN, `${s.wanAddress}/24`);
      await sh('ip', ['-n', s.nat, 'route', 'add', 'default', 'via', s.gateway]);
      await sysctl(s.nat, 'net.ipv4.ip_forward=1');
      await this.link(s.nat, LAN, `${s.lanAddress}/24`, s.home, 'eth0', `${s.homeAddress}/24`);
      await sh('ip', ['-n', s.home, 'route', 'add', 'default', 'via', s.lanAddress]);
      await nft(s.nat, natRuleset(this.natMode));
    }
  }

  /** Makes namespace `b` and a veth pair from the existing namespace `a` to it, addressed and up at both ends. */
  private async link(a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): Promise<void> {
    await this.namespaces.add(b);
    await sh('ip', ['-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
    for (const [ns, ifname, addr] of [[a, aIf, aAddr], [b, bIf, bAddr]]) {
      await sh('ip', ['-n', ns, 'address', 'add', addr, 'dev', ifname]);
      await sh('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    }
  }
}

export const createNatLab = (options: { natMode: NatMode }): Promise<NatLab> => NatLab.create(options);

function site(tag: string, name: 'a' | 'b', n: number): NatSite {
  return {
    home: `${tag}home${name}`,
    homeAddress: `10.10.${n}.2`,
    lanPrefix: `10.10.${n}.0/24`,
    nat: `${tag}nat${name}`,
    lanAddress: `10.10.${n}.1`,
    wanAddress: `198.18.${n}.1`,
    gateway: `198.18.${n}.254`,
    uplink: `nat${name}`,
  };
}

const sysctl = (ns: string, setting: string) => inNs(ns, 'sysctl', ['-qw', setting]);

/** Applies nft commands given as text on stdin, as one transaction. */
const nft = (ns: string, commands: string) => new Promise<void>((resolve, reject) => {
  const child = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.on('error', reject);
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft in ${ns}: ${stderr.trim()}`))));
  child.stdin.end(commands);
});

import type { Logger } from '../logger';
import { CommandError, isMissing, runCommand, type RunCommand } from '../wireguard/command-runner';
import { parseNftTable, type EnforcementPlan, type LiveEnforcement } from './enforcement-plan';
import type { EnforcementPort, EnforcementReadNeeds } from './enforcement-port';
import { exitFwmark, NO_EXIT_ROUTING, parseExitRules, planExitRouting, type LiveExitRouting } from './exit-routing';
import { tableName } from './nft-ruleset';
import { parseTcClasses, planTc, type LiveQdisc } from './tc-plan';

export interface LinuxEnforcementOptions {
  interfaceName: string;
  logger: Logger;
  run?: RunCommand;
}

/**
 * Enforcement with `nft`, `tc` and `sysctl`. Touches only the table `inet meshgate_<ifname>`, the root qdisc of the
 * WireGuard interface and net.ipv4.ip_forward (turned on for served routes, never off), and for an exit route the
 * interface's fwmark, its routing table and the two `ip rule`s naming its mark (exit-routing.ts).
 */
export class LinuxEnforcement implements EnforcementPort {
  private readonly run: RunCommand;
  readonly table: string;

  constructor(private readonly options: LinuxEnforcementOptions) {
    this.run = options.run ?? runCommand;
    this.table = tableName(options.interfaceName);
  }

  async read(needs: EnforcementReadNeeds): Promise<LiveEnforcement> {
    const marked = needs.fwmark === exitFwmark(this.options.interfaceName);
    return {
      nft: await this.readNft(),
      qdisc: await this.readQdisc(),
      ipv4Forwarding: needs.forwarding && (await this.readSysctl('net.ipv4.ip_forward')),
      // Without an exit route and without the interface's mark there is nothing to remove: the rest is not read.
      exitRouting: needs.exitRouting || marked ? await this.readExitRouting(needs.fwmark, needs.exitRouting) : { ...NO_EXIT_ROUTING, fwmark: needs.fwmark },
    };
  }

  private async readNft(): Promise<LiveEnforcement['nft']> {
    try {
      return parseNftTable(await this.run('nft', ['-j', 'list', 'table', 'inet', this.table]));
    } catch (err) {
      if (!isMissing(err)) throw err;
      return null;
    }
  }

  private async readQdisc(): Promise<LiveQdisc> {
    const dev = this.options.interfaceName;
    const qdiscs = JSON.parse((await this.run('tc', ['-j', 'qdisc', 'show', 'dev', dev, 'root'])) || '[]') as Array<{ kind: string; handle: string; root?: boolean }>;
    const root = qdiscs.find((q) => q.root) ?? null;
    return {
      root: root && root.kind !== 'noqueue' ? { kind: root.kind, handle: root.handle } : null,
      classes: root?.kind === 'htb' ? parseTcClasses(await this.run('tc', ['class', 'show', 'dev', dev])) : [],
    };
  }

  private async readSysctl(name: string): Promise<boolean> {
    return (await this.run('sysctl', ['-n', name])).trim() === '1';
  }

  /** The interface's fwmark as `wg` reports it; 0 when off or when the interface is gone. */
  private async readFwmark(): Promise<number> {
    try {
      const text = (await this.run('wg', ['show', this.options.interfaceName, 'fwmark'])).trim();
      return text === 'off' || text === '' ? 0 : Number(text);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      return 0;
    }
  }

  /** The policy routing state for the interface's mark; src_valid_mark only matters (and is only read) when wanted. */
  private async readExitRouting(fwmark: number, wanted: boolean): Promise<LiveExitRouting> {
    const dev = this.options.interfaceName;
    const f = exitFwmark(dev);
    let defaultRoute = false;
    try {
      const routes = JSON.parse((await this.run('ip', ['-4', '-j', 'route', 'show', 'table', String(f)])) || '[]') as Array<{ dst: string; dev?: string }>;
      defaultRoute = routes.some((r) => (r.dst === 'default' || r.dst === '0.0.0.0/0') && r.dev === dev);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const rules = parseExitRules(await this.run('ip', ['-4', '-j', 'rule', 'show']), f);
    const srcValidMark = wanted && (await this.readSysctl('net.ipv4.conf.all.src_valid_mark'));
    return { fwmark, defaultRoute, rules, srcValidMark };
  }

  async apply(plan: EnforcementPlan): Promise<void> {
    if (plan.enableForwarding) await this.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    if (plan.nft !== null) await this.run('nft', ['-f', '-'], plan.nft);
    for (const args of plan.tc) await this.run('tc', args);
    for (const [file, ...args] of plan.exitRouting) await this.run(file, args);
  }

  async destroy(): Promise<void> {
    const exitRouting = await this.readExitRouting(await this.readFwmark(), false);
    for (const [file, ...args] of planExitRouting(false, exitRouting, this.options.interfaceName)) await this.run(file, args);
    try {
      await this.run('nft', ['delete', 'table', 'inet', this.table]);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    let qdisc: LiveQdisc;
    try {
      qdisc = await this.readQdisc();
    } catch (err) {
      if (isMissing(err)) return; // the interface, and its qdisc, are gone
      throw err;
    }
    for (const args of planTc([], qdisc, this.options.interfaceName)) await this.run('tc', args);
  }
}

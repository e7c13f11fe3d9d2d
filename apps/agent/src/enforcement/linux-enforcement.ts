import type { Logger } from '../logger';
import { CommandError, runCommand, type RunCommand } from '../wireguard/command-runner';
import { parseNftTable, type EnforcementPlan, type LiveEnforcement } from './enforcement-plan';
import type { EnforcementPort } from './enforcement-port';
import { exitFwmark, NO_EXIT_ROUTING, parseExitRules, planExitRouting, type LiveExitRouting } from './exit-routing';
import { tableName } from './nft-ruleset';
import { parseTcClasses, planTc, type LiveQdisc } from './tc-plan';

export interface LinuxEnforcementOptions {
  interfaceName: string;
  logger: Logger;
  run?: RunCommand;
  /** Runs a program with `input` on stdin (for `nft -f -`). */
  runWithInput?: (file: string, args: string[], input: string) => Promise<string>;
}

/**
 * Enforcement with `nft`, `tc` and `sysctl`. Touches only the table `inet meshgate_<ifname>`, the root qdisc of the
 * WireGuard interface and net.ipv4.ip_forward (turned on for served routes, never off), and for an exit route the
 * interface's fwmark, its routing table and the two `ip rule`s naming its mark (exit-routing.ts).
 */
export class LinuxEnforcement implements EnforcementPort {
  private readonly run: RunCommand;
  private readonly runWithInput: (file: string, args: string[], input: string) => Promise<string>;
  readonly table: string;

  constructor(private readonly options: LinuxEnforcementOptions) {
    this.run = options.run ?? runCommand;
    this.runWithInput = options.runWithInput ?? ((file, args, input) => runCommand(file, args, input));
    this.table = tableName(options.interfaceName);
  }

  async read(): Promise<LiveEnforcement> {
    const dev = this.options.interfaceName;
    let nft: LiveEnforcement['nft'] = null;
    try {
      nft = parseNftTable(await this.run('nft', ['-j', 'list', 'table', 'inet', this.table]));
    } catch (err) {
      if (!(err instanceof CommandError && /No such file or directory|does not exist/i.test(err.stderr))) throw err;
    }
    const qdiscs = JSON.parse((await this.run('tc', ['-j', 'qdisc', 'show', 'dev', dev, 'root'])) || '[]') as Array<{ kind: string; handle: string; root?: boolean }>;
    const root = qdiscs.find((q) => q.root) ?? null;
    const qdisc: LiveQdisc = {
      root: root && root.kind !== 'noqueue' ? { kind: root.kind, handle: root.handle } : null,
      classes: root?.kind === 'htb' ? parseTcClasses(await this.run('tc', ['class', 'show', 'dev', dev])) : [],
    };
    const forwarding = (await this.run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim() === '1';
    return { nft, qdisc, ipv4Forwarding: forwarding, exitRouting: await this.readExitRouting() };
  }

  /** The policy routing state for the interface's mark; the fwmark reads as 0 when the interface is gone. */
  private async readExitRouting(): Promise<LiveExitRouting> {
    const dev = this.options.interfaceName;
    const f = exitFwmark(dev);
    let fwmark = 0;
    try {
      const text = (await this.run('wg', ['show', dev, 'fwmark'])).trim();
      fwmark = text === 'off' || text === '' ? 0 : Number(text);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
    }
    let defaultRoute = false;
    try {
      const routes = JSON.parse((await this.run('ip', ['-4', '-j', 'route', 'show', 'table', String(f)])) || '[]') as Array<{ dst: string; dev?: string }>;
      defaultRoute = routes.some((r) => (r.dst === 'default' || r.dst === '0.0.0.0/0') && r.dev === dev);
    } catch (err) {
      if (!(err instanceof CommandError && /FIB table does not exist/i.test(err.stderr))) throw err;
    }
    const rules = parseExitRules(await this.run('ip', ['-4', '-j', 'rule', 'show']), f);
    const srcValidMark = (await this.run('sysctl', ['-n', 'net.ipv4.conf.all.src_valid_mark'])).trim() === '1';
    return { ...NO_EXIT_ROUTING, fwmark, defaultRoute, rules, srcValidMark };
  }

  async apply(plan: EnforcementPlan): Promise<void> {
    if (plan.enableForwarding) await this.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    if (plan.nft !== null) await this.runWithInput('nft', ['-f', '-'], plan.nft);
    for (const args of plan.tc) await this.run('tc', args);
    for (const [file, ...args] of plan.exitRouting) await this.run(file, args);
  }

  async destroy(): Promise<void> {
    const missing = /No such file or directory|does not exist|Cannot find device/i;
    for (const [file, ...args] of planExitRouting(false, await this.readExitRouting(), this.options.interfaceName)) await this.run(file, args);
    try {
      await this.run('nft', ['delete', 'table', 'inet', this.table]);
    } catch (err) {
      if (!(err instanceof CommandError && missing.test(err.stderr))) throw err;
    }
    let live: LiveEnforcement;
    try {
      live = await this.read();
    } catch (err) {
      if (err instanceof CommandError && missing.test(err.stderr)) return; // the interface, and its qdisc, are gone
      throw err;
    }
    for (const args of planTc([], live.qdisc, this.options.interfaceName)) await this.run('tc', args);
  }
}

import type { Logger } from '../logger';
import type { RunCommand } from '../wireguard/command-runner';

export interface ResolvedRegistrationOptions {
  run: RunCommand;
  logger: Logger;
}

/**
 * Points systemd-resolved at the node's DNS server for the mesh domain only: the interface gets the overlay address
 * as its DNS server and `~<domain>` as a routing-only domain, so other names keep their resolvers. Without resolved
 * (`resolvectl status` fails) it says once what to do instead; README "Names in the mesh" has the details.
 */
export class ResolvedRegistration {
  /** What resolved was last told, so that an unchanged config costs no command. */
  private registered: string | null = null;
  private absenceLogged = false;

  constructor(private readonly options: ResolvedRegistrationOptions) {}

  /** True when resolved routes `<domain>` queries to `address` on `interfaceName`. */
  async register(interfaceName: string, address: string, domain: string): Promise<boolean> {
    const key = `${interfaceName} ${address} ${domain}`;
    if (this.registered === key) return true;
    const { run, logger } = this.options;
    if (!(await this.resolvedRuns())) {
      if (!this.absenceLogged) {
        this.absenceLogged = true;
        logger.info('systemd-resolved is not running: point a resolver at the mesh DNS server for the mesh domain', {
          address, domain, example: `dig @${address} <node-name>.${domain}`,
        });
      }
      return false;
    }
    try {
      // The routing domain first: a link with a DNS server and no routing-only domain is a default route meanwhile.
      await run('resolvectl', ['domain', interfaceName, `~${domain}`]);
      await run('resolvectl', ['dns', interfaceName, address]);
    } catch (err) {
      logger.warn('could not register the mesh DNS server with systemd-resolved', { interfaceName, err });
      return false;
    }
    this.registered = key;
    logger.info('mesh names registered with systemd-resolved', { interfaceName, address, domain });
    return true;
  }

  /** Drops the interface's DNS settings (names turned off); nothing to do when it never registered. */
  async revert(interfaceName: string): Promise<void> {
    if (this.registered === null) return;
    this.registered = null;
    await this.options.run('resolvectl', ['revert', interfaceName]);
  }

  private async resolvedRuns(): Promise<boolean> {
    try {
      await this.options.run('resolvectl', ['status']);
      return true;
    } catch {
      return false;
    }
  }
}

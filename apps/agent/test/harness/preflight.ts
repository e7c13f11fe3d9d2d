import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/**
 * The network tests need root, /dev/net/tun and the Debian tools. Rather than skip, they fail with the reason,
 * so a machine that cannot run them is noticed.
 */
export function assertNetworkTestPrerequisites(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (network namespaces, WireGuard interfaces)');
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    problems.push('/dev/net/tun is missing or not accessible (wireguard-go needs it)');
  }
  for (const tool of ['wireguard-go', 'wg', 'ip', 'ping']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      problems.push(`${tool} not found (apt-get install wireguard-go wireguard-tools iproute2 iputils-ping)`);
    }
  }
  if (problems.length > 0) throw new Error(`cannot run the WireGuard network tests:\n  - ${problems.join('\n  - ')}`);
}

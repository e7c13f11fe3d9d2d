import { execFile, execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

/** Runs a command and returns stdout; rejects with stderr in the message. */
export function sh(file: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** Runs a command inside a namespace. */
export const inNs = (ns: string, file: string, args: string[], timeoutMs?: number) =>
  sh('ip', ['netns', 'exec', ns, file, ...args], timeoutMs);

const trySync = (file: string, args: string[]) => {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Teardown is best effort per item: one missing thing must not stop the rest from being removed.
  }
};

/**
 * Network namespaces and WireGuard interface names a test made, torn down in afterAll — and, should the test
 * process die first, synchronously on exit. Every namespace's processes are killed before it is deleted, because a
 * namespace with a process left in it (a wireguard-go) lives on after `ip netns del`.
 */
export class NamespaceSet {
  private readonly namespaces = new Set<string>();
  private readonly wgInterfaces = new Set<string>();
  private readonly onExit = () => this.teardownSync();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.teardownSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor() {
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Creates a namespace (removing a leftover of the same name from an earlier crashed run) with loopback up. */
  async add(ns: string): Promise<void> {
    this.namespaces.add(ns);
    this.removeNamespaceSync(ns);
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** Remembers a WireGuard interface name so its userspace socket is cleaned up too. */
  trackWireGuard(ifname: string): void {
    this.wgInterfaces.add(ifname);
  }

  teardownSync(): void {
    for (const ns of this.namespaces) this.removeNamespaceSync(ns);
    for (const ifname of this.wgInterfaces) {
      const sock = `/var/run/wireguard/${ifname}.sock`;
      if (existsSync(sock)) rmSync(sock, { force: true });
    }
    this.namespaces.clear();
    this.wgInterfaces.clear();
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  private removeNamespaceSync(ns: string): void {
    if (!existsSync(`/run/netns/${ns}`)) return;
    let pids: string[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', ns], { timeout: 10_000 }).toString().split(/\s+/).filter(Boolean);
    } catch {
      pids = [];
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    trySync('ip', ['netns', 'del', ns]);
  }
}

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 * Watches the test process from outside: once it is gone (crash, SIGKILL, a runner that exits without afterAll),
 * it kills the processes left in the listed namespaces, deletes them and removes their wireguard-go sockets.
 * A separate process because a dying test process cannot be trusted to run its own exit handlers.
 */
const REAPER = `
const { execFileSync } = require('child_process'); const fs = require('fs');
const [parent, listFile] = process.argv.slice(1);
const alive = () => { try { process.kill(Number(parent), 0); return true; } catch { return false; } };
const timer = setInterval(() => {
  if (alive()) return;
  clearInterval(timer);
  let list = { namespaces: [], sockets: [] };
  try { list = JSON.parse(fs.readFileSync(listFile, 'utf8')); } catch {}
  for (const ns of list.namespaces) {
    let pids = [];
    try { pids = execFileSync('ip', ['netns', 'pids', ns]).toString().split(/\\s+/).filter(Boolean); } catch {}
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
    try { execFileSync('ip', ['netns', 'del', ns]); } catch {}
  }
  for (const sock of list.sockets) fs.rmSync(sock, { force: true });
  fs.rmSync(listFile, { force: true });
}, 500);
`;

/**
 * Network namespaces and WireGuard interface names a test made. teardownSync() (from afterAll) removes them; if the
 * test process dies first, a reaper process does. Every namespace's processes are killed before it is deleted,
 * because a namespace with a process left in it (a wireguard-go) lives on after `ip netns del`.
 */
export class NamespaceSet {
  private readonly namespaces = new Set<string>();
  private readonly wgInterfaces = new Set<string>();
  private readonly listFile = join(tmpdir(), `mg-netns-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  private reaper: ChildProcess | null = null;

  /** Creates a namespace (removing a leftover of the same name from an earlier crashed run) with loopback up. */
  async add(ns: string): Promise<void> {
    this.namespaces.add(ns);
    this.record();
    this.removeNamespaceSync(ns);
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** Remembers a WireGuard interface name so its userspace socket is cleaned up too. */
  trackWireGuard(ifname: string): void {
    this.wgInterfaces.add(ifname);
    this.record();
  }

  /** Keeps the reaper's list current, starting the reaper with the first entry. */
  private record(): void {
    writeFileSync(this.listFile, JSON.stringify({
      namespaces: [...this.namespaces],
      sockets: [...this.wgInterfaces].map((i) => `/var/run/wireguard/${i}.sock`),
    }));
    if (this.reaper === null) {
      this.reaper = spawn(process.execPath, ['-e', REAPER, String(process.pid), this.listFile], { detached: true, stdio: 'ignore' });
      this.reaper.unref();
    }
  }

  teardownSync(): void {
    for (const ns of this.namespaces) this.removeNamespaceSync(ns);
    for (const ifname of this.wgInterfaces) {
      const sock = `/var/run/wireguard/${ifname}.sock`;
      if (existsSync(sock)) rmSync(sock, { force: true });
    }
    this.namespaces.clear();
    this.wgInterfaces.clear();
    rmSync(this.listFile, { force: true });
    if (this.reaper?.pid !== undefined && this.reaper.exitCode === null) this.reaper.kill();
    this.reaper = null;
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

import { join } from 'node:path';
import { AdminApi } from './admin-api';
import { ManagedProcess } from './managed-process';
import { waitFor } from './wait';

/** The hub namespace's address on the lab's underlay bridge: every node namespace reaches it. */
export const HUB_ADDRESS = '198.18.0.1';

/** Joins a Unix socket to a TCP port on the hub's loopback; run with `node -e` inside the hub namespace. */
const FORWARDER = `
const net = require('net'); const fs = require('fs');
const [sock, port] = process.argv.slice(1);
fs.rmSync(sock, { force: true });
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(sock);
`;

export interface ControlPlaneProcessOptions {
  /** Names its log (`<label>.log`) and its admin socket (`<label>.sock`) in `dir`. */
  label: string;
  /** The namespace it runs in (the lab's hub). */
  ns: string;
  port: number;
  dir: string;
  main: string;
}

/**
 * One control-plane process (`node dist/apps/control-plane/main.js`) in the hub namespace on its own port of
 * HUB_ADDRESS, with a forwarder joining `<label>.sock` to that port so the test process reaches it through `api`.
 * It can be started again after a kill (same port, same socket, same api and its token).
 */
export class ControlPlaneProcess {
  readonly api: AdminApi;
  process: ManagedProcess | null = null;
  private forwarder: ManagedProcess | null = null;

  constructor(private readonly options: ControlPlaneProcessOptions) {
    this.api = new AdminApi(this.socketPath);
  }

  get label(): string {
    return this.options.label;
  }

  /** Where agents in the node namespaces reach it. */
  get url(): string {
    return `http://${HUB_ADDRESS}:${this.options.port}`;
  }

  get socketPath(): string {
    return join(this.options.dir, `${this.options.label}.sock`);
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Starts it with `env` (over PATH, PORT and HOST) and waits until /health answers 200. */
  async start(env: Record<string, string>): Promise<void> {
    const { label, ns, port, dir, main } = this.options;
    this.process = new ManagedProcess(label, join(dir, `${label}.log`), 'ip', ['netns', 'exec', ns, process.execPath, main],
      { PATH: process.env.PATH, PORT: String(port), HOST: '0.0.0.0', ...env });
    this.forwarder ??= new ManagedProcess(`${label} forwarder`, join(dir, `${label}-forwarder.log`), 'ip',
      ['netns', 'exec', ns, process.execPath, '-e', FORWARDER, this.socketPath, String(port)],
      { PATH: process.env.PATH });
    const started = this.process;
    await waitFor(
      async () => {
        if (!started.running) throw new Error(`${label} exited:\n${started.tail()}`);
        return (await this.api.call('GET', '/health').catch(() => ({ status: 0 }))).status === 200;
      },
      30_000,
      () => `${label} not healthy:\n${started.tail()}`,
      100,
    );
  }

  /** kill -9: no shutdown hook runs, its connections are cut at once. */
  async kill(): Promise<void> {
    await this.process?.stop('SIGKILL');
  }

  tail(lines = 8): string {
    return this.process?.tail(lines) ?? '(not started)';
  }

  async stop(): Promise<void> {
    await this.process?.stop('SIGTERM', 5_000);
    await this.forwarder?.stop('SIGTERM', 2_000);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** A child process whose output goes to a log file, with a way to stop it and to wait for lines in its log. */
export class ManagedProcess {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private exitCode: number | null | undefined;

  constructor(readonly name: string, readonly logPath: string, file: string, args: string[], env: NodeJS.ProcessEnv) {
    const fd = openSync(logPath, 'a');
    this.child = spawn(file, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : code);
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends `signal` and waits for the exit (escalating to SIGKILL after `timeoutMs`); returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 15): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

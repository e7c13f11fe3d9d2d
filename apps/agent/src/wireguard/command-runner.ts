import { execFile, spawn } from 'node:child_process';

/** A failed command, with what it printed on stderr (never its arguments' secrets: none are passed as arguments). */
export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | string | null, readonly stderr: string) {
    super(`${command} failed (${code}): ${stderr.trim() || 'no output'}`);
  }
}

/** Runs a program and returns its stdout; `input`, when given, goes to its stdin (`nft -f -`). */
export type RunCommand = (file: string, args: string[], input?: string) => Promise<string>;

/** The command failed because what it names (a device, an nft table, a routing table) does not exist. */
export const isMissing = (err: unknown): err is CommandError =>
  err instanceof CommandError && /No such file or directory|does not exist|Cannot find device/i.test(err.stderr);

/** Runs a program without a shell and returns its stdout; `input`, when given, is written to its stdin. */
export const runCommand: RunCommand = (file, args, input) =>
  new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(`${file} ${args.slice(0, 3).join(' ')}`, (err as NodeJS.ErrnoException).code ?? null, String(stderr)));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });

/**
 * Starts a daemon in its own session (so that stopping the agent, or signalling its process group, leaves it
 * running) and waits for the launcher to exit: `wireguard-go` forks the real daemon and exits 0 once it is up.
 */
export const runDetached = (file: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.WG_PROCESS_FOREGROUND;
    const child = spawn(file, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => reject(new CommandError(file, (err as NodeJS.ErrnoException).code ?? null, err.message)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new CommandError(`${file} ${args.join(' ')}`, code, stderr))));
  });

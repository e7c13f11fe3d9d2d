#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialsStore, configDir } from './credentials-store';
import { Prompter } from './prompter';
import { runCli } from './program';
import { Session } from './session';

/** The repository's package.json, two levels above dist/apps/cli. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const prompter = new Prompter(process.stdin, process.stderr);
  const now = () => Date.now();
  try {
    return await runCli(process.argv.slice(2), {
      session: new Session(new CredentialsStore(configDir(process.env)), prompter, now),
      prompter,
      now,
      stdout: process.stdout,
      stderr: process.stderr,
      version: version(),
    });
  } finally {
    prompter.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`meshgate: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);

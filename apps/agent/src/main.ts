#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Agent, RegistrationError } from './agent';
import { ConfigError, loadAgentConfig } from './agent-config';
import { parseCommandLine } from './cli/command-line';
import { InsecureStateError } from './identity/state-store';
import { createLogger } from './logger';

/** Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or unsafe state files. */
async function main(): Promise<number> {
  // `up`, `status`, `down`, --help and --version end here; the daemon (no command, or `up` without --no-start) runs on.
  const command = await parseCommandLine(process.argv.slice(2));
  if (command.kind === 'exit') return command.code;
  const { configPath, downOnExit, rotateKey } = command;

  const bootLog = createLogger();
  let config;
  try {
    let text: string | null = null;
    if (configPath !== undefined) {
      try {
        text = readFileSync(configPath, 'utf8');
      } catch (err) {
        throw new ConfigError('config file', `${configPath} cannot be read (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    config = loadAgentConfig(text, process.env, hostname());
  } catch (err) {
    if (err instanceof ConfigError) {
      bootLog.error(err.message, { key: err.key });
      return 2;
    }
    throw err;
  }

  const logger = createLogger({ level: config.logLevel, base: { node: config.nodeName } });
  const agent = new Agent({ config, downOnExit, logger, rotateKey });
  process.on('SIGUSR1', () => void agent.rotateKey('SIGUSR1'));
  let stopping: Promise<number> | null = null;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info('stopping', { signal, downOnExit });
      await agent.stop();
      logger.info('stopped');
      return 0;
    })();
    return stopping;
  };

  return new Promise<number>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal).then(resolve));
    agent.start().catch((err: unknown) => {
      if (err instanceof ConfigError || err instanceof InsecureStateError) {
        logger.error(err.message, err instanceof ConfigError ? { key: err.key } : {});
        resolve(2);
      } else if (err instanceof RegistrationError) {
        logger.error(err.message);
        resolve(1);
      } else {
        logger.error('agent failed to start', { err });
        resolve(1);
      }
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, RegistrationError } from './agent';
import { ConfigError, loadAgentConfig } from './agent-config';
import { InsecureStateError } from './identity/state-store';
import { createLogger } from './logger';

const USAGE = 'usage: meshgate-agent [--config FILE] [--down-on-exit] [--rotate-key]\n' +
  '  --rotate-key  rotate the node key once started (a running agent rotates on SIGUSR1)';

/** Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or unsafe state files. */
async function main(): Promise<number> {
  let configPath: string | undefined;
  let downOnExit = false;
  let rotateKey = false;
  try {
    const { values } = parseArgs({
      options: { config: { type: 'string' }, 'down-on-exit': { type: 'boolean' }, 'rotate-key': { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    configPath = values.config;
    downOnExit = values['down-on-exit'] ?? false;
    rotateKey = values['rotate-key'] ?? false;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

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

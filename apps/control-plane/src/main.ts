import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/app-config';
import { helpText } from './config/app-config-variables';
import { VERSION } from './config/version';

async function main(): Promise<void> {
  const flag = process.argv[2];
  if (flag === '--help' || flag === '-h') return void process.stdout.write(helpText(VERSION));
  if (flag === '--version' || flag === '-v') return void process.stdout.write(`${VERSION}\n`);
  if (flag !== undefined) {
    process.stderr.write(`meshgate: unknown argument ${flag}; the control plane is configured by environment variables (see --help)\n`);
    process.exit(2);
  }
  // The database holds password and token hashes: files the server creates are readable by its user only.
  process.umask(0o077);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meshgate: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Loaded only now: --help, --version and a bad setting answer without loading the whole server.
  const { createApp } = await import('./app.factory');
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  new Logger('main').log(`MeshGate control plane listening on http${config.tls ? 's' : ''}://${config.host}:${config.port} (database ${databaseName(config.databaseUrl, config.databasePath)})`);
}

/** The store in use, fit for a log line: the SQLite file, or the PostgreSQL URL without credentials or parameters. */
function databaseName(databaseUrl: string | null, databasePath: string): string {
  if (databaseUrl === null) return databasePath;
  const url = new URL(databaseUrl);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

void main();

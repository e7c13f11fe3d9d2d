import { ConfigError, loadConfig } from './config/app-config';
import { createApp } from './app.factory';

async function main(): Promise<void> {
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
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  process.stdout.write(JSON.stringify({ level: 'log', message: `MeshGate control plane listening on http://${config.host}:${config.port} (database ${databaseName(config.databaseUrl, config.databasePath)})` }) + '\n');
}

/** The store in use, fit for a log line: the SQLite file, or the PostgreSQL URL without credentials or parameters. */
function databaseName(databaseUrl: string | null, databasePath: string): string {
  if (databaseUrl === null) return databasePath;
  const url = new URL(databaseUrl);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

void main();

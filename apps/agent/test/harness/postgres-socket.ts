import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * `url` (the test cluster, on the host's loopback) rewritten to reach the same server through its Unix socket. A
 * control plane in the lab's hub namespace cannot reach the host's 127.0.0.1, but socket files are visible from every
 * namespace, so this needs no link between the lab and the host's network (as the admin API's socket does not).
 */
export async function viaUnixSocket(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  let setting: string;
  let port: string;
  try {
    setting = (await client.query<{ unix_socket_directories: string }>('SHOW unix_socket_directories')).rows[0].unix_socket_directories;
    port = (await client.query<{ port: string }>('SHOW port')).rows[0].port;
  } finally {
    await client.end();
  }
  const dir = setting.split(',').map((d) => d.trim()).find((d) => d !== '' && !d.startsWith('@') && existsSync(join(d, `.s.PGSQL.${port}`)));
  if (!dir) throw new Error(`the test PostgreSQL has no Unix socket a network namespace can use (unix_socket_directories = '${setting}')`);
  const parsed = new URL(url);
  parsed.port = port;
  parsed.searchParams.set('host', dir); // node-postgres: a host query parameter wins over the URL's host
  return parsed.toString();
}

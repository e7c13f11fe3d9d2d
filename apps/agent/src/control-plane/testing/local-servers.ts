/** For specs: stand-in control-plane replicas as real HTTP servers on 127.0.0.1 ephemeral ports. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  url: string;
  /** Every request received, in order. */
  readonly requests: IncomingMessage[];
  /** Dies as a killed replica does: open connections are cut and the port refuses new ones. Idempotent. */
  kill(): Promise<void>;
}

/** Answers each request with `handle(req, res, n)`, n counting from 1. */
export async function startLocalServer(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<LocalServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handle(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    kill: () => (closing ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    })),
  };
}

/** The URL of a port nothing listens on (bound, then released): connecting is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = await startLocalServer(() => undefined);
  await server.kill();
  return server.url;
}

/** An SSE frame as the control plane writes it. */
export const sseFrame = (event: 'config' | 'patch', data: { version: number }) =>
  `event: ${event}\nid: ${data.version}\ndata: ${JSON.stringify(data)}\n\n`;

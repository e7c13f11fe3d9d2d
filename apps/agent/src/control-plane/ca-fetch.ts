import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';

/**
 * The PEM certificates in `file` (a CA, or the control plane's own self-signed certificate); throws, saying why,
 * when there is none or one does not parse.
 */
export function readCaBundle(file: string): Buffer {
  const pem = readFileSync(file);
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${file} holds no PEM certificate`);
  for (const block of blocks) new X509Certificate(block);
  return pem;
}

/**
 * `fetch` for https:// URLs that trusts only the certificates in `ca`, not Node's default store: the control
 * plane's certificate is pinned to that CA (Node's fetch has no such option). Plain http:// goes to Node's fetch.
 * The answer's body is a stream, so the config stream reads it as it arrives; aborting the signal cuts the socket.
 */
export function fetchTrusting(ca: Buffer): typeof fetch {
  const agent = new Agent({ ca, keepAlive: true });
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return fetch(input, init);
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('fetchTrusting sends string bodies only');
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers)),
        agent,
        signal: init.signal ?? undefined,
      }, (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
        }
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || req.method === 'HEAD';
        if (empty) res.resume();
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers }));
      });
      // As Node's fetch does: an abort rejects with the signal's reason (a TimeoutError counts as the replica failing).
      req.once('error', (err) => reject(init.signal?.aborted ? init.signal.reason : err));
      req.end(body ?? undefined);
    });
  };
}

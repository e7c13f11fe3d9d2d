import type { ChildProcess } from 'node:child_process';
import { inNs } from './netns';

/**
 * Small TCP programs run with `node -e` inside a namespace (the test process cannot reach namespace addresses),
 * a reader for their output, a connect probe and an iperf3 run. Shared by the enforcement and policy e2e specs.
 */

/** A TCP echo server on each port given: prints "ready" once listening. */
export const ECHO_SERVER = `
const net = require('net');
const ports = process.argv.slice(1).map(Number);
let left = ports.length;
for (const port of ports) net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(port, '0.0.0.0', () => { if (--left === 0) console.log('ready'); });
`;

/** Connects once: prints "open" or why not (an errno code, or "timeout"), within the timeout. */
const PROBE = `
const net = require('net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect(Number(port), host);
const done = (what) => { console.log(what); s.destroy(); process.exit(0); };
s.setTimeout(Number(ms), () => done('timeout'));
s.on('connect', () => done('open'));
s.on('error', (e) => done(e.code));
`;

/** From namespace `ns`, connects once to host:port: "open", or why not (an errno code, or "timeout" after `ms`). */
export const probe = async (ns: string, host: string, port: number, ms: number): Promise<string> =>
  (await inNs(ns, process.execPath, ['-e', PROBE, host, String(port), String(ms)])).trim();

/**
 * One 3-second iperf3 run from namespace `ns` to the server at host:port: the received rate in Mbit/s, or null when
 * nothing listens there yet (the caller retries within its own bound); any other failure throws.
 */
export async function iperfMbit(ns: string, host: string, port: number): Promise<number | null> {
  try {
    const out = await inNs(ns, 'iperf3', ['-c', host, '-p', String(port), '-t', '3', '-J'], 20_000);
    return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
  } catch (err) {
    if (/unable to connect|Connection refused/i.test(String(err))) return null;
    throw err;
  }
}

/** A long-lived connection: each stdin line is sent; each echoed chunk is reported as "echo <bytes>". */
export const CLIENT = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host, () => console.log('connected'));
s.on('data', (d) => console.log('echo ' + d.length));
s.on('error', (e) => console.log('error ' + e.code));
process.stdin.on('data', (d) => s.write(d));
`;

/** Resolves with the first stdout line matching `pattern`, or rejects after `ms`. */
export function nextLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) finish(() => resolve(line));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no line matching ${pattern} within ${ms} ms`))), ms);
    const finish = (then: () => void) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      then();
    };
    child.stdout!.on('data', onData);
  });
}

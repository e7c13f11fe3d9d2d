import { createLogger } from '../logger';
import { CommandError } from './command-runner';
import { LinuxWireGuard } from './linux-wireguard';
import type { PlanStep } from './wireguard-port';

const logger = createLogger({ level: 'error', write: () => undefined });

function adapter(respond: (file: string, args: string[]) => string = () => '') {
  const calls: string[][] = [];
  const started: string[][] = [];
  const wg = new LinuxWireGuard({
    interfaceName: 'mg0',
    privateKeyPath: '/var/lib/meshgate/private.key',
    logger,
    run: async (file, args) => {
      calls.push([file, ...args]);
      return respond(file, args);
    },
    startUserspace: async (file, args) => {
      started.push([file, ...args]);
    },
  });
  return { wg, calls, started };
}

const peer = (i: number) => ({ publicKey: `KEY${i}`, endpoint: `198.18.0.${i}:51820`, allowedIps: [`100.64.0.${i}/32`], persistentKeepalive: 25 });

describe('LinuxWireGuard', () => {
  it('turns plan steps into wg and ip commands, passing the private key as a file', async () => {
    const { wg, calls } = adapter();
    const steps: PlanStep[] = [
      { kind: 'set-private-key' },
      { kind: 'set-listen-port', port: 51820 },
      { kind: 'add-address', address: '100.64.0.1/10' },
      { kind: 'set-link-up' },
      { kind: 'remove-peer', publicKey: 'OLD' },
      { kind: 'upsert-peer', peer: peer(2), setEndpoint: true },
      { kind: 'upsert-peer', peer: { ...peer(3), persistentKeepalive: 0 }, setEndpoint: false },
      { kind: 'add-route', destination: '10.0.0.0/8' },
    ];
    await wg.apply(steps);
    expect(calls).toEqual([
      ['wg', 'set', 'mg0', 'private-key', '/var/lib/meshgate/private.key'],
      ['wg', 'set', 'mg0', 'listen-port', '51820'],
      ['ip', 'address', 'add', '100.64.0.1/10', 'dev', 'mg0'],
      ['ip', 'link', 'set', 'mg0', 'up'],
      ['wg', 'set', 'mg0', 'peer', 'OLD', 'remove',
        'peer', 'KEY2', 'endpoint', '198.18.0.2:51820', 'persistent-keepalive', '25', 'allowed-ips', '100.64.0.2/32',
        'peer', 'KEY3', 'persistent-keepalive', 'off', 'allowed-ips', '100.64.0.3/32'],
      ['ip', 'route', 'replace', '10.0.0.0/8', 'dev', 'mg0', 'proto', 'static'],
    ]);
  });

  it('batches peer changes 200 to a wg call', async () => {
    const { wg, calls } = adapter();
    await wg.apply(Array.from({ length: 450 }, (_, i) => ({ kind: 'upsert-peer' as const, peer: peer(i), setEndpoint: false })));
    expect(calls.map((c) => c.filter((a) => a === 'peer').length)).toEqual([200, 200, 50]);
  });

  it('sets a chosen endpoint and sends a keepalive there in one wg call', async () => {
    const { wg, calls } = adapter();
    await wg.apply([
      { kind: 'set-endpoint', publicKey: 'KEY2', endpoint: '203.0.113.9:40001' },
      { kind: 'set-endpoint', publicKey: 'KEY3', endpoint: '[2001:db8::3]:51820' },
      { kind: 'send-keepalive', publicKey: 'KEY2', persistentKeepalive: 25 },
    ]);
    expect(calls).toEqual([
      ['wg', 'set', 'mg0', 'peer', 'KEY2', 'endpoint', '203.0.113.9:40001', 'peer', 'KEY3', 'endpoint', '[2001:db8::3]:51820',
        'peer', 'KEY2', 'persistent-keepalive', 'off', 'peer', 'KEY2', 'persistent-keepalive', '25'],
    ]);
  });

  it('falls back to wireguard-go when the kernel has no WireGuard, and remembers it', async () => {
    const { wg, calls, started } = adapter((file, args) => {
      if (args.includes('type')) throw new CommandError('ip link add', 2, 'Error: Unknown device type.');
      if (args[0] === '-j') throw new CommandError('ip -j address', 1, 'Device "mg0" does not exist.');
      return '';
    });
    await wg.create();
    await wg.create();
    expect(started).toEqual([['wireguard-go', 'mg0'], ['wireguard-go', 'mg0']]);
    expect(calls.filter((c) => c.includes('type'))).toHaveLength(1);
  });

  it('reads a missing interface as null', async () => {
    const { wg } = adapter(() => {
      throw new CommandError('ip -j address', 1, 'Device "mg0" does not exist.');
    });
    expect(await wg.read()).toBeNull();
  });
});

import { probeReflexive } from './reflexive-probe';
import { RelayForwarder } from './relay-forwarder';
import { freeUdpPorts, UdpPeer } from './testing/udp-peer';

describe('probeReflexive', () => {
  const relay = new RelayForwarder({ bindAddress: '127.0.0.1' });
  let reflectPort: number;

  beforeAll(async () => {
    [reflectPort] = await freeUdpPorts(1);
    await relay.apply({ reflectPort, forwards: [], pairRateMbit: 10, pairPacketsPerSecond: 1000 });
  });
  afterAll(() => relay.close());

  it('learns the address and port the reflector saw, from an ephemeral port', async () => {
    const seen = await probeReflexive(`127.0.0.1:${reflectPort}`, { bindAddress: '127.0.0.2' });
    expect(seen).toEqual({ address: '127.0.0.2', port: seen!.localPort, localPort: expect.any(Number) });
    expect(seen!.localPort).toBeGreaterThan(0);
  });

  it('probes from the given local port (without NAT, the mapping keeps it) and releases it', async () => {
    const [localPort] = await freeUdpPorts(1, '127.0.0.3');
    expect(await probeReflexive(`127.0.0.1:${reflectPort}`, { bindAddress: '127.0.0.3', localPort })).toEqual({ address: '127.0.0.3', port: localPort, localPort });
    await (await UdpPeer.open('127.0.0.3', localPort)).close();
  });

  it('resends within the timeout: an answer to a later attempt counts', async () => {
    // A reflector that ignores the first request, as a lossy path would.
    const [port] = await freeUdpPorts(1);
    const lossy = await UdpPeer.open('127.0.0.1', port);
    const probe = probeReflexive(`127.0.0.1:${port}`, { bindAddress: '127.0.0.4', timeoutMs: 4000 });
    const first = await lossy.next();
    const second = await lossy.next();
    expect(second.data).toEqual(first.data); // the same transaction, resent
    await lossy.close();
    const forwarder = new RelayForwarder({ bindAddress: '127.0.0.1' });
    await forwarder.apply({ reflectPort: port, forwards: [], pairRateMbit: 10, pairPacketsPerSecond: 1000 });
    try {
      expect(await probe).toMatchObject({ address: '127.0.0.4' });
    } finally {
      await forwarder.close();
    }
  });

  it('gives null when nothing answers in time', async () => {
    const [silent] = await freeUdpPorts(1);
    expect(await probeReflexive(`127.0.0.1:${silent}`, { bindAddress: '127.0.0.2', timeoutMs: 300 })).toBeNull();
  });

  it('rejects what it cannot even try', async () => {
    await expect(probeReflexive('no-port-here')).rejects.toThrow('not a host:port');
    const squatter = await UdpPeer.open('127.0.0.2');
    try {
      await expect(probeReflexive(`127.0.0.1:${reflectPort}`, { bindAddress: '127.0.0.2', localPort: squatter.port })).rejects.toThrow('EADDRINUSE');
    } finally {
      await squatter.close();
    }
  });
});

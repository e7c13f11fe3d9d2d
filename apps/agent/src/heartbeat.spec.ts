import { heartbeatFrom } from './heartbeat';

describe('heartbeatFrom', () => {
  it('sums counters and reports handshakes only when there was one', () => {
    const live = {
      publicKey: 'OWN', listenPort: 51820, up: true, addresses: [], routes: [], fwmark: 0,
      peers: [
        { publicKey: 'A', endpoint: null, allowedIps: [], persistentKeepalive: 0, latestHandshake: 1732400000, rxBytes: 10, txBytes: 20 },
        { publicKey: 'B', endpoint: null, allowedIps: [], persistentKeepalive: 0, latestHandshake: 0, rxBytes: 1, txBytes: 2 },
      ],
    };
    expect(heartbeatFrom(live, '198.18.0.11:51820')).toEqual({
      endpoint: '198.18.0.11:51820',
      rxBytes: 11,
      txBytes: 22,
      peers: [
        { publicKey: 'A', rxBytes: 10, txBytes: 20, lastHandshakeAt: '2024-11-23T22:13:20.000Z' },
        { publicKey: 'B', rxBytes: 1, txBytes: 2 },
      ],
    });
  });

  it('sends just the endpoint when the interface cannot be read', () => {
    expect(heartbeatFrom(null, null)).toEqual({});
  });
});

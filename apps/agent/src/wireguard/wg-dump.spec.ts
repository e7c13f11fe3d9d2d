import { parseWgDump } from './wg-dump';

describe('parseWgDump', () => {
  it('reads interface and peers and drops the private key', () => {
    const dump = [
      'cHJpdmF0ZQ==\tUFVCLUE=\t51820\toff',
      'UEVFUi1C\t(none)\t198.18.0.12:51820\t100.64.0.3/32,10.1.0.0/24\t1732400000\t1200\t3400\t25',
      'UEVFUi1D\t(none)\t(none)\t(none)\t0\t0\t0\toff',
      '',
    ].join('\n');
    const parsed = parseWgDump(dump);
    expect(parsed).toEqual({
      publicKey: 'UFVCLUE=',
      listenPort: 51820,
      peers: [
        { publicKey: 'UEVFUi1C', endpoint: '198.18.0.12:51820', allowedIps: ['100.64.0.3/32', '10.1.0.0/24'], latestHandshake: 1732400000, rxBytes: 1200, txBytes: 3400, persistentKeepalive: 25 },
        { publicKey: 'UEVFUi1D', endpoint: null, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: 0 },
      ],
    });
    expect(JSON.stringify(parsed)).not.toContain('cHJpdmF0ZQ==');
  });

  it('reports an interface with no key and no port', () => {
    expect(parseWgDump('(none)\t(none)\t0\toff\n')).toEqual({ publicKey: null, listenPort: null, peers: [] });
  });

  it('rejects output it does not understand', () => {
    expect(() => parseWgDump('')).toThrow();
    expect(() => parseWgDump('a\tb\n')).toThrow();
  });
});

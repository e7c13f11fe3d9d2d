import { execFileSync } from 'node:child_process';
import { generatePrivateKey, publicKeyOf } from './key-pair';

describe('key pair', () => {
  it('generates distinct 32-byte private keys', () => {
    const a = generatePrivateKey();
    expect(a).toHaveLength(32);
    expect(a.equals(generatePrivateKey())).toBe(false);
  });

  it('derives the RFC 7748 public key', () => {
    // RFC 7748 section 6.1, Alice's key pair.
    const priv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    expect(publicKeyOf(priv).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('agrees with `wg pubkey` (wireguard-tools)', () => {
    const priv = generatePrivateKey();
    const expected = execFileSync('wg', ['pubkey'], { input: priv.toString('base64') + '\n' }).toString().trim();
    expect(publicKeyOf(priv).toString('base64')).toBe(expected);
  });
});

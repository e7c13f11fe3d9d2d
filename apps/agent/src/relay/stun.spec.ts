import { decodeBindingRequest, decodeBindingResponse, encodeBindingRequest, encodeBindingResponse } from './stun';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
// RFC 5769 §2.2: a Binding success response with SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY
// and FINGERPRINT.
const RFC5769_TRANSACTION = hex('b7e7a701 bc34d686 fa87dfae');
const RFC5769_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220 00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7 80280004 c07d4c96`);

describe('stun', () => {
  it('reads the XOR-MAPPED-ADDRESS of the RFC 5769 sample IPv4 response among other attributes', () => {
    expect(decodeBindingResponse(RFC5769_IPV4_RESPONSE, RFC5769_TRANSACTION)).toEqual({ address: '192.0.2.1', port: 32853 });
  });

  it('writes XOR-MAPPED-ADDRESS as RFC 5769 does, IPv4 and IPv6 (XORed with the transaction id too)', () => {
    expect(encodeBindingResponse(RFC5769_TRANSACTION, { address: '192.0.2.1', port: 32853 }).subarray(20)).toEqual(hex('00200008 0001a147 e112a643'));
    const v6 = encodeBindingResponse(RFC5769_TRANSACTION, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
    expect(v6.subarray(20)).toEqual(hex('00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9'));
    expect(decodeBindingResponse(v6, RFC5769_TRANSACTION)).toEqual({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
  });

  it('answers an IPv4-mapped requester with its IPv4 address', () => {
    const response = encodeBindingResponse(RFC5769_TRANSACTION, { address: '::ffff:10.1.2.3', port: 51820 });
    expect(decodeBindingResponse(response, RFC5769_TRANSACTION)).toEqual({ address: '10.1.2.3', port: 51820 });
  });

  it('round-trips a binding request and returns its transaction id', () => {
    const request = encodeBindingRequest(RFC5769_TRANSACTION);
    expect(request).toEqual(hex('00010000 2112a442 b7e7a701 bc34d686 fa87dfae'));
    expect(decodeBindingRequest(request)).toEqual(RFC5769_TRANSACTION);
    expect(encodeBindingRequest()).toHaveLength(20);
  });

  it('accepts a request with attributes that tile its length (SOFTWARE, padded)', () => {
    const request = hex('00010010 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220');
    expect(decodeBindingRequest(request)).toEqual(RFC5769_TRANSACTION);
  });

  it.each([
    ['too short', hex('00010000 2112a442 b7e7a701 bc34d686 fa87df')],
    ['a wrong magic cookie (RFC 3489 style)', hex('00010000 2112a443 b7e7a701 bc34d686 fa87dfae')],
    ['a response, not a request', hex('01010000 2112a442 b7e7a701 bc34d686 fa87dfae')],
    ['a length beyond the packet', hex('00010008 2112a442 b7e7a701 bc34d686 fa87dfae')],
    ['a length short of the packet', hex('00010000 2112a442 b7e7a701 bc34d686 fa87dfae 80220000')],
    ['a length not a multiple of 4', hex('00010002 2112a442 b7e7a701 bc34d686 fa87dfae 0000')],
    ['an attribute overrunning the message', hex('00010008 2112a442 b7e7a701 bc34d686 fa87dfae 80220008 74657374')],
    ['a WireGuard handshake initiation', Buffer.concat([hex('01000000'), Buffer.alloc(144)])],
    ['nothing', Buffer.alloc(0)],
  ])('ignores %s', (_, packet) => {
    expect(decodeBindingRequest(packet)).toBeNull();
  });

  it('ignores a response to another transaction or without XOR-MAPPED-ADDRESS', () => {
    expect(decodeBindingResponse(RFC5769_IPV4_RESPONSE, Buffer.alloc(12))).toBeNull();
    expect(decodeBindingResponse(hex('01010000 2112a442 b7e7a701 bc34d686 fa87dfae'), RFC5769_TRANSACTION)).toBeNull();
    expect(decodeBindingResponse(hex('0101000c 2112a442 b7e7a701 bc34d686 fa87dfae 00200008 0003a147 e112a643'), RFC5769_TRANSACTION)).toBeNull();
  });
});

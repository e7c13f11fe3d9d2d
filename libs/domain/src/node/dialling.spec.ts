import { directCandidates } from './dialling';

describe('directCandidates', () => {
  it('puts the configured endpoint first, then the reported candidates on the seen address, the seen address, then the rest', () => {
    expect(directCandidates({
      endpoint: '203.0.113.1:51820', listenPort: 51820, seenFrom: '198.51.100.7', candidates: ['10.0.0.5:51820', '198.51.100.7:61000'],
    })).toEqual(['203.0.113.1:51820', '198.51.100.7:61000', '198.51.100.7:51820', '10.0.0.5:51820']);
  });

  it('guesses the seen address with the listen port (a NAT that keeps ports, or a public node), without duplicates', () => {
    expect(directCandidates({ endpoint: null, listenPort: 51821, seenFrom: '198.51.100.7', candidates: ['198.51.100.7:51821'] })).toEqual(['198.51.100.7:51821']);
    expect(directCandidates({ endpoint: null, listenPort: 51820, seenFrom: '2001:db8::7' })).toEqual(['[2001:db8::7]:51820']);
    expect(directCandidates({ endpoint: null, listenPort: 51820 })).toEqual([]);
  });
});

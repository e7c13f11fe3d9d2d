/**
 * The NAT lab on its own, before any agent runs in it: two homes behind nftables masquerade routers, a relay and a
 * public router in network namespaces. Plain UDP and ICMP show what the WireGuard NAT traversal tests rely on: what
 * the relay sees of each home, that nothing unsolicited gets in, and that a manual UDP hole punch between the homes
 * works through port-preserving NATs and fails through port-randomising ones.
 */
import { assertNatLabPrerequisites, createNatLab, type NatLab, type NatSite } from './harness/nat-lab';
import { mappedEndpoint, udpPeer, UDP_ECHO, type Datagram } from './harness/udp-tools';
import { waitFor } from './harness/wait';

jest.setTimeout(60_000);

const ECHO_PORTS = [3478, 3479];
const UNSOLICITED_PORT = 3490;

/** A lab of the given mode for the enclosing describe, with a UDP echo server on the relay; destroyed afterwards. */
function natLab(natMode: 'port-preserving' | 'random'): () => NatLab {
  let lab: NatLab | undefined;
  beforeAll(async () => {
    assertNatLabPrerequisites();
    lab = await createNatLab({ natMode });
    const echo = lab.spawn(lab.relay.ns, 'udp-echo', [process.execPath, '-e', UDP_ECHO, lab.relay.address, ...ECHO_PORTS.map(String)]);
    await waitFor(() => echo.log().includes('ready'), 10_000, () => `echo server not ready:\n${echo.tail()}`);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  return () => lab!;
}

const echoAt = (lab: NatLab, port = ECHO_PORTS[0]) => `${lab.relay.address}:${port}`;
const canPing = (lab: NatLab, ns: string, address: string) =>
  lab.exec(ns, ['ping', '-n', '-c', '1', '-W', '2', address]).then(() => true, () => false);
/** What the relay's echo servers saw of one socket at the home's address:port, keyed by echo port. */
const seenByRelay = async (lab: NatLab, s: NatSite, port: number) => {
  const replies = await udpPeer(s.home, { address: s.homeAddress, port, targets: ECHO_PORTS.map((p) => echoAt(lab, p)), ms: 1_000 });
  return Object.fromEntries(ECHO_PORTS.map((p) => [p, replies.find((r) => r.from === echoAt(lab, p))?.text]));
};
/** UDP conntrack entries in a NAT router whose original source is `source` (confirmed entries only are listed). */
const entriesFrom = async (lab: NatLab, s: NatSite, source: string) =>
  (await lab.exec(s.nat, ['conntrack', '-L', '-p', 'udp', '--orig-src', source])).trim();
const portOf = (endpoint: string | null | undefined) => Number(endpoint?.split(':')[1]);

/**
 * A manual hole punch: each home learns its mapping from the relay's echo server, then both send to the other's
 * mapping from that same port at once, for two seconds. Returns the mappings and what each home received.
 */
async function punch(lab: NatLab, port: number) {
  const [mapA, mapB] = await Promise.all(lab.sites.map((s) => mappedEndpoint(s.home, s.homeAddress, port, echoAt(lab))));
  if (mapA === null || mapB === null) throw new Error(`no mapping learned: a=${mapA} b=${mapB}`);
  const [a, b] = await Promise.all([
    udpPeer(lab.a.home, { address: lab.a.homeAddress, port, targets: [mapB], text: 'from a', ms: 2_000 }),
    udpPeer(lab.b.home, { address: lab.b.homeAddress, port, targets: [mapA], text: 'from b', ms: 2_000 }),
  ]);
  return { mapA, mapB, a, b };
}

const texts = (received: Datagram[]) => [...new Set(received.map((d) => `${d.from} ${d.text}`))];

describe('NAT lab with port-preserving NAT', () => {
  const lab = natLab('port-preserving');

  it('lets each home reach the public side, seen by the relay as its NAT WAN address with its own port', async () => {
    for (const s of lab().sites) {
      expect(await canPing(lab(), s.home, lab().relay.address)).toBe(true);
      expect(await canPing(lab(), s.home, lab().public.address)).toBe(true);
      const seen = await seenByRelay(lab(), s, 40001);
      expect(seen).toEqual({ 3478: `${s.wanAddress}:40001`, 3479: `${s.wanAddress}:40001` });
    }
  });

  it("keeps a home from reaching the other home's private address", async () => {
    const { a, b } = lab();
    expect(await canPing(lab(), a.home, b.homeAddress)).toBe(false);
    const [atB] = await Promise.all([
      udpPeer(b.home, { address: b.homeAddress, port: 40002, targets: [], ms: 1_500 }),
      udpPeer(a.home, { address: a.homeAddress, port: 40002, targets: [`${b.homeAddress}:40002`], ms: 1_000 }),
    ]);
    expect(atB).toEqual([]);
  });

  it('drops unsolicited UDP, even to a mapped port from another source port, and keeps no conntrack entry for it', async () => {
    const { a, relay } = lab();
    // To the router itself: a socket on its WAN address hears nothing.
    const [atRouter] = await Promise.all([
      udpPeer(a.nat, { address: a.wanAddress, port: 40003, targets: [], ms: 1_500 }),
      udpPeer(relay.ns, { address: relay.address, port: UNSOLICITED_PORT, targets: [`${a.wanAddress}:40003`], ms: 1_000 }),
    ]);
    expect(atRouter).toEqual([]);
    // To a live mapping (home a <-> echo port 3478) but from another relay port: only the echo's replies get in.
    const [atHome] = await Promise.all([
      udpPeer(a.home, { address: a.homeAddress, port: 40004, targets: [echoAt(lab())], ms: 1_500 }),
      udpPeer(relay.ns, { address: relay.address, port: UNSOLICITED_PORT, targets: [`${a.wanAddress}:40004`], ms: 1_000 }),
    ]);
    expect(texts(atHome)).toEqual([`${echoAt(lab())} ${a.wanAddress}:40004`]);
    expect(await entriesFrom(lab(), a, relay.address)).toBe('');
  });

  it('gets a home through again after flushNat(), which empties both NAT tables', async () => {
    const { a } = lab();
    expect(await mappedEndpoint(a.home, a.homeAddress, 40005, echoAt(lab()))).toBe(`${a.wanAddress}:40005`);
    expect(await entriesFrom(lab(), a, a.homeAddress)).not.toBe('');
    await lab().flushNat();
    for (const s of lab().sites) expect((await lab().exec(s.nat, ['conntrack', '-L'])).trim()).toBe('');
    expect(await mappedEndpoint(a.home, a.homeAddress, 40005, echoAt(lab()))).toBe(`${a.wanAddress}:40005`);
  });

  it('lets the two homes punch a UDP hole by sending to each other at once', async () => {
    const { a, b } = lab();
    const result = await punch(lab(), 40010);
    expect([result.mapA, result.mapB]).toEqual([`${a.wanAddress}:40010`, `${b.wanAddress}:40010`]);
    expect(texts(result.a)).toEqual([`${b.wanAddress}:40010 from b`]);
    expect(texts(result.b)).toEqual([`${a.wanAddress}:40010 from a`]);
  });
});

describe('NAT lab with port-randomising NAT', () => {
  const lab = natLab('random');

  it('gives each destination its own random port on the NAT WAN address', async () => {
    for (const s of lab().sites) {
      expect(await canPing(lab(), s.home, lab().relay.address)).toBe(true);
      const seen = await seenByRelay(lab(), s, 40001);
      const [to3478, to3479] = ECHO_PORTS.map((p) => seen[p]);
      expect([to3478?.split(':')[0], to3479?.split(':')[0]]).toEqual([s.wanAddress, s.wanAddress]);
      expect(portOf(to3478)).not.toBe(40001);
      expect(portOf(to3478)).not.toBe(portOf(to3479));
    }
  });

  it('makes the same hole punch fail', async () => {
    const result = await punch(lab(), 40010);
    expect([portOf(result.mapA), portOf(result.mapB)]).not.toContain(40010);
    expect(result.a).toEqual([]);
    expect(result.b).toEqual([]);
  });

  it('gets a home through again after flushNat(), from a new port', async () => {
    const { a } = lab();
    const before = await mappedEndpoint(a.home, a.homeAddress, 40005, echoAt(lab()));
    await lab().flushNat();
    const after = await mappedEndpoint(a.home, a.homeAddress, 40005, echoAt(lab()));
    expect(after?.split(':')[0]).toBe(a.wanAddress);
    expect(portOf(after)).not.toBe(portOf(before));
  });

  it('lets the punch through once setNatMode switches both routers to port-preserving', async () => {
    await lab().setNatMode('port-preserving');
    const result = await punch(lab(), 40020);
    expect(texts(result.a)).toEqual([`${lab().b.wanAddress}:40020 from b`]);
    expect(texts(result.b)).toEqual([`${lab().a.wanAddress}:40020 from a`]);
  });
});

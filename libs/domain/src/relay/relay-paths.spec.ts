import { DomainError } from '../shared/domain-error';
import {
  decideRelayPath, evolveRelayPaths, initialRelayPathsState, pairKey, RELAY_FIRST_PORT, RELAY_PORT_COUNT, RelayContext, RelayEvent, RelayPathsState,
} from './relay-paths';

const ctx = (over: Partial<RelayContext> = {}): RelayContext => ({
  relays: ['relay-1'],
  arePeers: () => true,
  isLive: () => true,
  seenFrom: (id) => ({ a: '198.51.100.1', b: '198.51.100.2', c: '198.51.100.3' } as Record<string, string>)[id],
  ...over,
});
const fold = (events: RelayEvent[], state: RelayPathsState = initialRelayPathsState) => events.reduce(evolveRelayPaths, state);
const open = (nodeId: string, peerId: string) => ({ type: 'OpenRelayPath' as const, tenantId: 't', nodeId, peerId });
const close = (nodeId: string, peerId: string) => ({ type: 'CloseRelayPath' as const, tenantId: 't', nodeId, peerId });
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as DomainError).code;
  }
  return 'none';
};

describe('relay paths', () => {
  it('opens a path with two ports on the relay, each side admitted from the address it was seen at', () => {
    const events = decideRelayPath(open('b', 'a'), initialRelayPathsState, ctx());
    expect(events).toEqual([{
      type: 'RelayPathOpened',
      data: { tenantId: 't', relayNodeId: 'relay-1', nodes: ['a', 'b'], ports: [RELAY_FIRST_PORT, RELAY_FIRST_PORT + 1], sources: ['198.51.100.1', '198.51.100.2'], requestedBy: 'b' },
    }]);
    expect(fold(events).get(pairKey('a', 'b'))).toMatchObject({ relayNodeId: 'relay-1', ports: [RELAY_FIRST_PORT, RELAY_FIRST_PORT + 1] });
  });

  it('is idempotent: the other side asking for the same pair changes nothing', () => {
    const state = fold(decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx()));
    expect(decideRelayPath(open('b', 'a'), state, ctx())).toEqual([]);
  });

  it('takes the lowest free ports and spreads pairs over the least loaded relay', () => {
    let state = fold(decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx({ relays: ['relay-1', 'relay-2'] })));
    const second = decideRelayPath(open('a', 'c'), state, ctx({ relays: ['relay-1', 'relay-2'] }));
    expect(second[0].data).toMatchObject({ relayNodeId: 'relay-2', ports: [RELAY_FIRST_PORT, RELAY_FIRST_PORT + 1] });
    state = fold(decideRelayPath(open('a', 'c'), state, ctx()));
    expect(state.get(pairKey('a', 'c'))!.ports).toEqual([RELAY_FIRST_PORT + 2, RELAY_FIRST_PORT + 3]);
  });

  it('closes on request (direct path found), and closing a path that is not open appends nothing', () => {
    const state = fold(decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx()));
    const closed = decideRelayPath(close('b', 'a'), state, ctx());
    expect(closed).toEqual([{ type: 'RelayPathClosed', data: { tenantId: 't', relayNodeId: 'relay-1', nodes: ['a', 'b'], reason: 'direct' } }]);
    expect(fold(closed, state).size).toBe(0);
    expect(decideRelayPath(close('a', 'b'), fold(closed, state), ctx())).toEqual([]);
  });

  it('closes paths whose node, relay or peering went away before deciding, so their ports are free again', () => {
    const state = fold(decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx()));
    const events = decideRelayPath(open('a', 'c'), state, ctx({ isLive: (id) => id !== 'b' }));
    expect(events.map((e) => e.type)).toEqual(['RelayPathClosed', 'RelayPathOpened']);
    expect(events[0].data).toMatchObject({ nodes: ['a', 'b'], reason: 'gone' });
    expect(events[1].data).toMatchObject({ nodes: ['a', 'c'], ports: [RELAY_FIRST_PORT, RELAY_FIRST_PORT + 1] });
    expect(decideRelayPath(close('a', 'b'), state, ctx({ relays: [] }))).toEqual([
      { type: 'RelayPathClosed', data: { tenantId: 't', relayNodeId: 'relay-1', nodes: ['a', 'b'], reason: 'gone' } },
    ]);
  });

  it('refuses strangers, unseen nodes, and a tenant without room on a relay', () => {
    expect(refusal(() => decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx({ arePeers: () => false })))).toBe('NOT_A_PEER');
    expect(refusal(() => decideRelayPath(open('a', 'a'), initialRelayPathsState, ctx()))).toBe('NOT_A_PEER');
    expect(refusal(() => decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx({ seenFrom: () => undefined })))).toBe('NODE_NOT_SEEN');
    expect(refusal(() => decideRelayPath(open('a', 'b'), initialRelayPathsState, ctx({ relays: [] })))).toBe('NO_RELAY');
    expect(refusal(() => decideRelayPath(open('a', 'relay-1'), initialRelayPathsState, ctx({ seenFrom: () => '198.51.100.9' })))).toBe('NO_RELAY');
    const full = new Map([...Array(RELAY_PORT_COUNT / 2)].map((_, i) => [`x${i}/y${i}`, {
      relayNodeId: 'relay-1', nodes: [`x${i}`, `y${i}`] as [string, string], ports: [RELAY_FIRST_PORT + 2 * i, RELAY_FIRST_PORT + 2 * i + 1] as [number, number],
      sources: ['198.51.100.8', '198.51.100.9'] as [string, string],
    }]));
    expect(refusal(() => decideRelayPath(open('a', 'b'), full, ctx()))).toBe('NO_RELAY');
  });
});

import { deciderSpec } from '../testing/given';
import {
  applyHeartbeat, baselinePeer, baselinePeers, COUNTER_MAX_AGE_MS, DatedHeartbeatEvent, emptyHeartbeatBaseline,
  HeartbeatBaseline, heartbeatBaselineFromJson, heartbeatBaselineToJson, HeartbeatReport, liveHeartbeatStats, NodeHeartbeatRecorded, NodeHeartbeatRecordedV1, NodeSeen,
  PeerStats,
} from './heartbeat';
import {
  DatedNodeEvent, decideNode, DEFAULT_LISTEN_PORT, evolveNode, initialNodeState, NodeCommand, NodeRegistered,
  NodeState, NodeWentOffline, RecordHeartbeat, upcastNodeEvent,
} from './node';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const given = deciderSpec<NodeCommand, DatedNodeEvent, NodeState>(decideNode, evolveNode, initialNodeState, NOW);
const ago = (ms: number, from: Date = NOW) => new Date(from.getTime() - ms).toISOString();
/** An event as the log returns it: dated by its recordedAt. */
const dated = <E extends DatedNodeEvent>(event: E, recordedAt: string): E => ({ ...event, recordedAt });
const fold = (events: DatedNodeEvent[]): NodeState => events.reduce(evolveNode, initialNodeState);

const EP = '203.0.113.7:51820';
const PK3_EP = '198.51.100.3:51820';
const registered: NodeRegistered = {
  type: 'NodeRegistered',
  data: {
    nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', address: '100.64.0.1', endpoint: null,
    listenPort: DEFAULT_LISTEN_PORT, tags: [], tokenHash: 'th', enrollmentKeyId: null,
  },
};
const knownPeers = new Set(['PK2', 'PK3', 'PK4']);
const beat = (report: HeartbeatReport): RecordHeartbeat => ({ type: 'RecordHeartbeat', nodeId: 'n1', knownPeers, ...report });
const seen: NodeSeen = { type: 'NodeSeen', data: {} };
const recorded = (data: NodeHeartbeatRecorded['data']): NodeHeartbeatRecorded => ({ type: 'NodeHeartbeatRecorded', data });

/** The previous heartbeat, 30 s ago; both handshakes a minute old (established then and now). */
const T0 = ago(30_000);
const peer = (publicKey: string, overrides: Partial<PeerStats> = {}): PeerStats => ({
  publicKey, lastHandshakeAt: ago(60_000), rxBytes: 1000, txBytes: 2000, ...overrides,
});
const report = (overrides: Partial<HeartbeatReport> = {}, peers: PeerStats[] = [peer('PK2'), peer('PK3', { endpoint: PK3_EP })]): HeartbeatReport => ({
  endpoint: EP, rxBytes: 3000, txBytes: 6000, peers, ...overrides,
});
const first = recorded({
  endpoint: EP, rxBytes: 3000, txBytes: 6000, handshakes: { established: ['PK2', 'PK3'] },
  peerEndpoints: { PK3: PK3_EP }, peerCounters: { PK2: [1000, 2000], PK3: [1000, 2000] },
});
/** A node online whose last heartbeat (at T0) recorded `report()`. */
const steady: DatedNodeEvent[] = [registered, dated(first, T0)];

describe('compact heartbeats', () => {
  it('records the first heartbeat after registration with everything it reports, sorted by peer', () => {
    given([registered]).when(beat(report({}, [peer('PK3', { endpoint: PK3_EP }), peer('PK2')]))).then([first]);
  });

  it('records a heartbeat that changes nothing material as NodeSeen with no data', () => {
    given(steady).when(beat(report())).then([seen]);
  });

  it('records the first heartbeat after going offline (a status change) even when nothing else changed', () => {
    const offline: NodeWentOffline = { type: 'NodeWentOffline', data: { nodeId: 'n1', lastSeenAt: T0, at: NOW.toISOString() } };
    given([...steady, offline]).when(beat(report())).then([recorded({})]);
  });

  describe('endpoint', () => {
    it('records a changed endpoint, and only it', () => {
      given(steady).when(beat(report({ endpoint: '203.0.113.8:4500' }))).then([recorded({ endpoint: '203.0.113.8:4500' })]);
    });

    it('takes an endpoint not reported as unchanged', () => {
      given(steady).when(beat(report({ endpoint: undefined }))).then([seen]);
    });
  });

  describe('handshakes', () => {
    it('records handshakes lost: one 180 s old (WireGuard\u2019s REJECT_AFTER_TIME) and one gone', () => {
      given(steady)
        .when(beat(report({}, [peer('PK2', { lastHandshakeAt: ago(180_000) }), peer('PK3', { endpoint: PK3_EP, lastHandshakeAt: null })])))
        .then([recorded({ handshakes: { lost: ['PK2', 'PK3'] } })]);
    });

    it('keeps a handshake just younger than 180 s established', () => {
      given(steady).when(beat(report({}, [peer('PK2', { lastHandshakeAt: ago(179_999) }), peer('PK3', { endpoint: PK3_EP })]))).then([seen]);
    });

    it('records a handshake established again, and only once', () => {
      const lost = dated(recorded({ handshakes: { lost: ['PK2'] } }), ago(15_000));
      given([...steady, lost]).when(beat(report())).then([recorded({ handshakes: { established: ['PK2'] } })]);
      given([...steady, lost, dated(recorded({ handshakes: { established: ['PK2'] } }), ago(5_000))]).when(beat(report())).then([seen]);
    });
  });

  describe('peer endpoints', () => {
    it('records a peer\u2019s changed endpoint, or its loss; an endpoint not reported is unchanged', () => {
      given(steady).when(beat(report({}, [peer('PK2', { endpoint: '192.0.2.2:1' }), peer('PK3', { endpoint: PK3_EP })])))
        .then([recorded({ peerEndpoints: { PK2: '192.0.2.2:1' } })]);
      given(steady).when(beat(report({}, [peer('PK2'), peer('PK3', { endpoint: null })]))).then([recorded({ peerEndpoints: { PK3: null } })]);
      given(steady).when(beat(report({}, [peer('PK2'), peer('PK3')]))).then([seen]);
    });
  });

  describe('counters', () => {
    it('records nothing for counters that moved less than 10% within 5 minutes', () => {
      given(steady)
        .when(beat(report({ rxBytes: 3299, txBytes: 6599 }, [peer('PK2', { rxBytes: 1099, txBytes: 2199 }), peer('PK3', { endpoint: PK3_EP })])))
        .then([seen]);
    });

    it('records a counter pair, both counters, when one moved by 10% or more (down too: a reset)', () => {
      given(steady).when(beat(report({ txBytes: 6600 }))).then([recorded({ rxBytes: 3000, txBytes: 6600 })]);
      given(steady).when(beat(report({}, [peer('PK2', { rxBytes: 1100 }), peer('PK3', { endpoint: PK3_EP, txBytes: 0 })])))
        .then([recorded({ peerCounters: { PK2: [1100, 2000], PK3: [1000, 0] } })]);
    });

    it('records a counter that changed at all once its last record is 5 minutes old, and never an unchanged one', () => {
      const atFiveMinutes = [registered, dated(first, ago(COUNTER_MAX_AGE_MS))];
      const justUnder = [registered, dated(first, ago(COUNTER_MAX_AGE_MS - 1))];
      const moved = report({ rxBytes: 3001 }, [peer('PK2', { txBytes: 2001 }), peer('PK3', { endpoint: PK3_EP })]);
      given(atFiveMinutes).when(beat(moved)).then([recorded({ rxBytes: 3001, txBytes: 6000, peerCounters: { PK2: [1000, 2001] } })]);
      given(justUnder).when(beat(moved)).then([seen]);
      given([registered, dated(first, ago(3_600_000))]).when(beat(report())).then([seen]);
    });

    it('measures the 5 minutes from the counter\u2019s own last record, not from the last heartbeat', () => {
      const later = dated(recorded({ handshakes: { lost: ['PK3'] } }), ago(60_000));
      const stillLost = report({}, [peer('PK2', { rxBytes: 1001 }), peer('PK3', { endpoint: PK3_EP, lastHandshakeAt: null })]);
      given([registered, dated(first, ago(COUNTER_MAX_AGE_MS)), later]).when(beat(stillLost))
        .then([recorded({ peerCounters: { PK2: [1001, 2000] } })]);
    });
  });

  describe('peers', () => {
    it('records peers no longer reported as gone, and drops them from the baseline', () => {
      given(steady).when(beat(report({}, [peer('PK2')]))).then([recorded({ gone: ['PK3'] })]);
      const state = fold([...steady, dated(recorded({ gone: ['PK3'] }), ago(1000))]);
      expect(baselinePeers(state.heartbeat!).map((p) => p.publicKey)).toEqual(['PK2']);
    });

    it('says nothing of peers when the heartbeat does not report them', () => {
      given(steady).when(beat(report({ peers: undefined }))).then([seen]);
    });

    it('records nothing for a new peer with no handshake, endpoint or traffic yet', () => {
      given(steady).when(beat(report({}, [...report().peers!, peer('PK4', { lastHandshakeAt: null, rxBytes: 0, txBytes: 0 })]))).then([seen]);
    });

    it('still refuses peers outside the node\u2019s config', () => {
      given(steady).when(beat(report({}, [peer('PK9')]))).thenThrows('PEER_NOT_IN_CONFIG');
    });
  });

  describe('size', () => {
    const peers100 = Array.from({ length: 100 }, (_, i) => peer(`PEER${String(i).padStart(3, '0')}${'x'.repeat(37)}=`, { endpoint: `192.0.2.${i}:51820` }));
    const big: HeartbeatReport = { endpoint: EP, rxBytes: 123_456_789, txBytes: 987_654_321, peers: peers100 };
    const command = { ...beat(big), knownPeers: new Set(peers100.map((p) => p.publicKey)) };

    it('records a steady heartbeat of a node with 100 peers in at most 16 bytes of type and data', () => {
      const [firstEvent] = decideNode(command, fold([registered]), { now: new Date(T0) });
      const [event] = decideNode(command, fold([registered, dated(firstEvent, T0)]), { now: NOW });
      expect(event).toEqual(seen);
      expect(event.type.length + JSON.stringify(event.data).length).toBeLessThanOrEqual(16);
      // What every such heartbeat used to store:
      expect(JSON.stringify({ nodeId: 'n1', at: NOW.toISOString(), ...big }).length).toBeGreaterThan(8000);
    });

    it('keeps the baseline packed: one object for 100 peers, four numbers each', () => {
      const [firstEvent] = decideNode(command, fold([registered]), { now: NOW });
      const baseline = fold([registered, dated(firstEvent, NOW.toISOString())]).heartbeat!;
      expect(baseline.peerKeys).toHaveLength(100);
      expect(baseline.peerNumbers).toBeInstanceOf(Float64Array);
      expect(baseline.peerNumbers).toHaveLength(400);
      expect(baselinePeer(baseline, peers100[7].publicKey)).toEqual({
        publicKey: peers100[7].publicKey, handshakeEstablished: true, endpoint: '192.0.2.7:51820', rxBytes: 1000, txBytes: 2000,
        countersRecordedAt: NOW.toISOString(),
      });
    });
  });

  describe('evolve', () => {
    it('dates compact heartbeats by the recordedAt the log gave them, and refuses to guess without it', () => {
      const before = fold(steady);
      const state = evolveNode(before, dated(seen, ago(1000)));
      expect(state).toEqual({ ...before, lastSeenAt: ago(1000) });
      expect(state.heartbeat).toBe(before.heartbeat); // a NodeSeen shares the baseline
      expect(() => fold([...steady, seen])).toThrow(/recordedAt/);
    });

    it('folds the baseline a view holds with applyHeartbeat', () => {
      const events = [dated(first, T0), dated(recorded({ gone: ['PK3'], peerCounters: { PK2: [5000, 6000] } }), ago(1000)), dated(seen, NOW.toISOString())];
      const viewBaseline = events.reduce<HeartbeatBaseline>((b, e) => applyHeartbeat(b, e as DatedHeartbeatEvent), emptyHeartbeatBaseline);
      expect(viewBaseline).toEqual(fold([registered, ...events]).heartbeat);
      expect(baselinePeers(viewBaseline)).toEqual([{
        publicKey: 'PK2', handshakeEstablished: true, endpoint: null, rxBytes: 5000, txBytes: 6000, countersRecordedAt: ago(1000),
      }]);
    });
  });

  it('round-trips a baseline through JSON (a view’s snapshot), never-recorded counters included', () => {
    const baseline = fold([...steady, dated(recorded({ handshakes: { lost: ['PK3'] }, peerEndpoints: { PK4: '192.0.2.4:1' } }), ago(1000))]).heartbeat!;
    expect(baselinePeer(baseline, 'PK4')?.countersRecordedAt).toBeNull();
    const json = JSON.parse(JSON.stringify(heartbeatBaselineToJson(baseline)));
    expect(heartbeatBaselineFromJson(json)).toEqual(baseline);
    expect(heartbeatBaselineFromJson(heartbeatBaselineToJson(emptyHeartbeatBaseline))).toEqual(emptyHeartbeatBaseline);
  });

  describe('old format (upcast)', () => {
    const old: NodeHeartbeatRecordedV1 = {
      type: 'NodeHeartbeatRecorded',
      data: {
        nodeId: 'n1', at: T0, endpoint: EP, rxBytes: 3000, txBytes: 6000,
        peers: [
          { publicKey: 'PK3', lastHandshakeAt: ago(60_000), rxBytes: 1000, txBytes: 2000 },
          { publicKey: 'PK2', lastHandshakeAt: ago(60_000), rxBytes: 1000, txBytes: 2000 },
          { publicKey: 'PK4', lastHandshakeAt: ago(600_000), rxBytes: 7, txBytes: 8 },
        ],
      },
    };
    /** As the log returns it: recorded a moment after the `at` its handler decided. */
    const oldRecorded = { ...old, position: 42, recordedAt: ago(29_990) };

    it('upcasts an old heartbeat to the changes shape, keeping its time and the recorded event\u2019s other fields', () => {
      expect(upcastNodeEvent(oldRecorded)).toEqual({
        type: 'NodeHeartbeatRecorded', position: 42, recordedAt: ago(29_990),
        data: {
          at: T0, endpoint: EP, rxBytes: 3000, txBytes: 6000, handshakes: { established: ['PK2', 'PK3'], lost: ['PK4'] },
          peerCounters: { PK2: [1000, 2000], PK3: [1000, 2000], PK4: [7, 8] },
        },
      });
      expect(upcastNodeEvent(registered)).toBe(registered);
      expect(upcastNodeEvent(dated(first, T0))).toEqual(dated(first, T0));
    });

    it('replays an old heartbeat to the same state as its upcast, dated by its own at', () => {
      const state = fold([registered, oldRecorded]);
      expect(state).toEqual(fold([registered, upcastNodeEvent(oldRecorded)]));
      expect(state.lastSeenAt).toBe(T0);
      expect(state.endpoint).toBe(EP);
      expect(state.heartbeat).toEqual(fold([registered, dated(recorded({
        rxBytes: 3000, txBytes: 6000, handshakes: { established: ['PK2', 'PK3'] }, peerCounters: { PK2: [1000, 2000], PK3: [1000, 2000], PK4: [7, 8] },
      }), T0)]).heartbeat);
      expect(baselinePeers(state.heartbeat!).map((p) => [p.publicKey, p.handshakeEstablished, p.rxBytes, p.countersRecordedAt]))
        .toEqual([['PK2', true, 1000, T0], ['PK3', true, 1000, T0], ['PK4', false, 7, T0]]);
    });

    it('compares the next heartbeat with what an old one recorded', () => {
      const peers = [...report({}, [peer('PK2'), peer('PK3')]).peers!, peer('PK4', { lastHandshakeAt: null, rxBytes: 7, txBytes: 8 })];
      given([registered, old]).when(beat(report({}, peers))).then([seen]);
      given([registered, old]).when(beat(report({ endpoint: '203.0.113.9:1' }, peers.slice(1))))
        .then([recorded({ endpoint: '203.0.113.9:1', gone: ['PK2'] })]);
    });

    it('folds a log that mixes old and new heartbeats to the state the live decider held', () => {
      const log: DatedNodeEvent[] = [registered, { ...old, data: { ...old.data, at: ago(600_000) } }];
      let live = fold(log);
      const reports: [number, HeartbeatReport][] = [
        [570_000, report({}, [peer('PK2'), peer('PK3'), peer('PK4', { lastHandshakeAt: ago(600_000), rxBytes: 7, txBytes: 8 })])],
        [540_000, report({}, [peer('PK2', { rxBytes: 1050 }), peer('PK3')])],
        [510_000, report({ endpoint: '203.0.113.9:1' }, [peer('PK2', { rxBytes: 1050 }), peer('PK3', { endpoint: PK3_EP })])],
        [210_000, report({ endpoint: '203.0.113.9:1' }, [peer('PK2', { rxBytes: 1060, lastHandshakeAt: ago(400_000) }), peer('PK3', { endpoint: PK3_EP })])],
        [180_000, report({ endpoint: '203.0.113.9:1' }, [peer('PK2', { rxBytes: 1060, lastHandshakeAt: ago(400_000) }), peer('PK3', { endpoint: PK3_EP })])],
        [0, report({ endpoint: '203.0.113.9:1', rxBytes: 9000 }, [peer('PK2', { rxBytes: 1060 }), peer('PK3', { endpoint: PK3_EP })])],
      ];
      const types: string[] = [];
      for (const [before, r] of reports) {
        const at = new Date(NOW.getTime() - before);
        for (const event of decideNode(beat(r), live, { now: at })) {
          const stored = dated(event, at.toISOString());
          log.push(stored);
          live = evolveNode(live, stored);
          types.push(event.type);
        }
      }
      expect(types).toEqual(['NodeSeen', 'NodeHeartbeatRecorded', 'NodeHeartbeatRecorded', 'NodeHeartbeatRecorded', 'NodeSeen', 'NodeHeartbeatRecorded']);
      expect(fold(log)).toEqual(live);
      expect(live).toMatchObject({ status: 'online', lastSeenAt: NOW.toISOString(), endpoint: '203.0.113.9:1' });
      expect(baselinePeers(live.heartbeat!)).toEqual([
        { publicKey: 'PK2', handshakeEstablished: true, endpoint: null, rxBytes: 1060, txBytes: 2000, countersRecordedAt: ago(210_000) },
        { publicKey: 'PK3', handshakeEstablished: true, endpoint: PK3_EP, rxBytes: 1000, txBytes: 2000, countersRecordedAt: ago(600_000) },
      ]);
    });
  });

  describe('live stats', () => {
    it('gives every stat the heartbeat carried, with the handshake judged as the decider judges it', () => {
      expect(liveHeartbeatStats(report({}, [peer('PK2'), peer('PK3', { lastHandshakeAt: ago(180_000), endpoint: PK3_EP })]), NOW)).toEqual({
        endpoint: EP, rxBytes: 3000, txBytes: 6000,
        peers: [
          { publicKey: 'PK2', rxBytes: 1000, txBytes: 2000, lastHandshakeAt: ago(60_000), handshakeEstablished: true },
          { publicKey: 'PK3', rxBytes: 1000, txBytes: 2000, lastHandshakeAt: ago(180_000), handshakeEstablished: false, endpoint: PK3_EP },
        ],
      });
      expect(liveHeartbeatStats({}, NOW)).toEqual({});
    });
  });
});

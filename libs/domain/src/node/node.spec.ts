import { deciderSpec } from '../testing/given';
import {
  DatedNodeEvent, decideNode, DEFAULT_LISTEN_PORT, evolveNode, initialNodeState, NodeCommand, NodeRegistered,
  NodeRemoved, NodeState, NodeWentOffline, RegisterNode, TenantNodeIndex,
} from './node';
import { emptyHeartbeatBaseline, NodeHeartbeatRecordedV1 } from './heartbeat';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const given = deciderSpec<NodeCommand, DatedNodeEvent, NodeState>(decideNode, evolveNode, initialNodeState, NOW);

const emptyTenant: TenantNodeIndex = { publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: null };
const register = (overrides: Partial<RegisterNode> = {}): RegisterNode => ({
  type: 'RegisterNode', nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', tags: ['web'], tokenHash: 'th',
  tenant: emptyTenant, ...overrides,
});
const registered = (overrides: Partial<NodeRegistered['data']> = {}): NodeRegistered => ({
  type: 'NodeRegistered',
  data: {
    nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', address: '100.64.0.1', endpoint: null,
    listenPort: DEFAULT_LISTEN_PORT, tags: ['web'], tokenHash: 'th', enrollmentKeyId: null, ...overrides,
  },
});
/** A heartbeat as first stored (nodeId, at): old logs hold these, and they still replay. */
const heartbeat = (at: string, endpoint?: string): NodeHeartbeatRecordedV1 => ({
  type: 'NodeHeartbeatRecorded', data: { nodeId: 'n1', at, ...(endpoint ? { endpoint } : {}) },
});
const wentOffline: NodeWentOffline = { type: 'NodeWentOffline', data: { nodeId: 'n1', lastSeenAt: '2025-12-31T23:00:00.000Z', at: NOW.toISOString() } };
const removed: NodeRemoved = { type: 'NodeRemoved', data: { nodeId: 'n1', publicKey: 'PK1' } };
const fold = (events: DatedNodeEvent[]): NodeState => events.reduce(evolveNode, initialNodeState);

describe('node decider', () => {
  describe('RegisterNode', () => {
    it('registers with the first overlay address, the default port, and no endpoint', () => {
      given([]).when(register()).then([registered()]);
    });

    it('takes the address after the tenant\u2019s last one, and keeps endpoint, port and enrollment key', () => {
      given([])
        .when(register({
          tenant: { ...emptyTenant, lastAllocatedAddress: '100.64.0.254' },
          endpoint: '203.0.113.5:51820', listenPort: 41641, enrollmentKeyId: 'k1',
        }))
        .then([registered({ address: '100.64.1.1', endpoint: '203.0.113.5:51820', listenPort: 41641, enrollmentKeyId: 'k1' })]);
    });

    it('stores tags de-duplicated and sorted', () => {
      given([]).when(register({ tags: ['web', 'db', 'web', 'ops'] })).then([registered({ tags: ['db', 'ops', 'web'] })]);
    });

    it('refuses a public key already registered in the tenant', () => {
      given([]).when(register({ tenant: { ...emptyTenant, publicKeyTaken: (k) => k === 'PK1' } })).thenThrows('PUBLIC_KEY_TAKEN');
    });

    it('refuses a name already used in the tenant', () => {
      given([]).when(register({ tenant: { ...emptyTenant, nameTaken: (n) => n === 'web-1' } })).thenThrows('NODE_NAME_TAKEN');
    });

    it('refuses when the tenant\u2019s address space is exhausted', () => {
      given([]).when(register({ tenant: { ...emptyTenant, lastAllocatedAddress: '100.127.255.254' } })).thenThrows('ADDRESS_SPACE_EXHAUSTED');
    });

    it('refuses to register an existing node again, even a removed one (ids are never reused)', () => {
      given([registered()]).when(register()).thenThrows('NODE_EXISTS');
      given([registered(), removed]).when(register()).thenThrows('NODE_EXISTS');
    });
  });

  describe('RecordHeartbeat', () => {
    const knownPeers = new Set(['PK2', 'PK3']);
    const beat = { type: 'RecordHeartbeat', nodeId: 'n1', knownPeers } as const;
    const stats = (publicKey: string) => ({ publicKey, lastHandshakeAt: '2025-12-31T23:59:00.000Z', rxBytes: 10, txBytes: 20 });

    it('records the first heartbeat with what the agent reported (what changed since registration)', () => {
      given([registered()])
        .when({ ...beat, endpoint: '198.51.100.2:51820', rxBytes: 1, txBytes: 2, peers: [stats('PK2')] })
        .then([{
          type: 'NodeHeartbeatRecorded',
          data: { endpoint: '198.51.100.2:51820', rxBytes: 1, txBytes: 2, handshakes: { established: ['PK2'] }, peerCounters: { PK2: [10, 20] } },
        }]);
    });

    it('records heartbeats from online and offline nodes too: a compact one when nothing changed, a status change after offline', () => {
      given([registered(), heartbeat('2025-12-31T22:00:00.000Z')]).when(beat).then([{ type: 'NodeSeen', data: {} }]);
      given([registered(), heartbeat('2025-12-31T22:00:00.000Z'), wentOffline]).when(beat).then([{ type: 'NodeHeartbeatRecorded', data: {} }]);
    });

    it('refuses a heartbeat for an unknown or removed node', () => {
      given([]).when(beat).thenThrows('NODE_NOT_FOUND');
      given([registered(), removed]).when(beat).thenThrows('NODE_NOT_FOUND');
    });

    it('refuses peers that are not the node\u2019s peers now, and a peer reported twice: the log stays bounded by the mesh', () => {
      given([registered()]).when({ ...beat, peers: [stats('PK2'), stats('PK9')] }).thenThrows('PEER_NOT_IN_CONFIG');
      given([registered()]).when({ ...beat, peers: [stats('PK1')] }).thenThrows('PEER_NOT_IN_CONFIG'); // itself
      given([registered()]).when({ ...beat, peers: [stats('PK2'), stats('PK2')] }).thenThrows('PEER_REPORTED_TWICE');
    });
  });

  describe('MarkNodeOffline', () => {
    const cutOff = new Date('2025-12-31T23:30:00.000Z');

    it('marks an online node not seen since the cut-off as offline', () => {
      given([registered(), heartbeat('2025-12-31T23:00:00.000Z')])
        .when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff })
        .then([wentOffline]);
    });

    it('leaves a node seen at or after the cut-off online (the sweeper raced a heartbeat)', () => {
      given([registered(), heartbeat('2025-12-31T23:45:00.000Z')]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
      given([registered(), heartbeat(cutOff.toISOString())]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
    });

    it('is idempotent, and ignores nodes that are not online', () => {
      given([registered(), heartbeat('2025-12-31T23:00:00.000Z'), wentOffline]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
      given([registered()]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
      given([]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
      given([registered(), removed]).when({ type: 'MarkNodeOffline', nodeId: 'n1', offlineBefore: cutOff }).then([]);
    });
  });

  describe('RemoveNode', () => {
    it('removes a live node, naming its public key for the peers to drop', () => {
      given([registered()]).when({ type: 'RemoveNode', nodeId: 'n1' }).then([removed]);
      given([registered(), heartbeat('2025-12-31T23:00:00.000Z'), wentOffline]).when({ type: 'RemoveNode', nodeId: 'n1' }).then([removed]);
    });

    it('refuses to remove an unknown or already removed node', () => {
      given([]).when({ type: 'RemoveNode', nodeId: 'n1' }).thenThrows('NODE_NOT_FOUND');
      given([registered(), removed]).when({ type: 'RemoveNode', nodeId: 'n1' }).thenThrows('NODE_NOT_FOUND');
    });
  });

  describe('routes', () => {
    it('records advertised routes as canonical prefixes, deduplicated and sorted', () => {
      given([]).when(register({ advertisedRoutes: ['10.2.0.9/24', '10.1.0.0/16', '10.2.0.0/24'] }))
        .then([registered({ advertisedRoutes: ['10.1.0.0/16', '10.2.0.0/24'] })]);
      given([]).when(register({ advertisedRoutes: ['10.1.0.0'] })).thenThrows('ROUTE_INVALID');
    });

    it('approves advertised routes, compared as prefixes; a repeat approval changes nothing', () => {
      const advertising = registered({ advertisedRoutes: ['10.1.0.0/16', '10.2.0.0/24'] });
      given([advertising]).when({ type: 'ApproveRoutes', nodeId: 'n1', routes: ['10.2.0.1/24'] })
        .then([{ type: 'NodeRoutesApproved', data: { nodeId: 'n1', routes: ['10.2.0.0/24'] } }]);
      given([advertising, { type: 'NodeRoutesApproved', data: { nodeId: 'n1', routes: ['10.2.0.0/24'] } }])
        .when({ type: 'ApproveRoutes', nodeId: 'n1', routes: ['10.2.0.0/24'] }).then([]);
    });

    it('refuses routes the node did not advertise, malformed ones, and removed nodes', () => {
      const advertising = registered({ advertisedRoutes: ['10.1.0.0/16'] });
      given([advertising]).when({ type: 'ApproveRoutes', nodeId: 'n1', routes: ['10.9.0.0/16'] }).thenThrows('ROUTE_NOT_ADVERTISED');
      given([advertising]).when({ type: 'ApproveRoutes', nodeId: 'n1', routes: ['nope/8'] }).thenThrows('ROUTE_INVALID');
      given([advertising, removed]).when({ type: 'ApproveRoutes', nodeId: 'n1', routes: [] }).thenThrows('NODE_NOT_FOUND');
    });
  });

  describe('evolve', () => {
    it('walks pending → online → offline → online → removed, tracking last seen and endpoint', () => {
      const r = registered({ endpoint: '203.0.113.1:1' });
      const base = { publicKey: 'PK1', advertisedRoutes: undefined, heartbeat: emptyHeartbeatBaseline };
      expect(fold([r])).toEqual({ ...base, status: 'pending', lastSeenAt: null, endpoint: '203.0.113.1:1' });
      const h1 = heartbeat('2025-12-31T23:00:00.000Z');
      expect(fold([r, h1])).toEqual({ ...base, status: 'online', lastSeenAt: h1.data.at, endpoint: '203.0.113.1:1' });
      expect(fold([r, h1, wentOffline]).status).toBe('offline');
      expect(fold([r, h1, wentOffline]).lastSeenAt).toBe(h1.data.at);
      const h2 = heartbeat('2026-01-01T00:00:00.000Z', '203.0.113.2:2');
      expect(fold([r, h1, wentOffline, h2])).toEqual({ ...base, status: 'online', lastSeenAt: h2.data.at, endpoint: '203.0.113.2:2' });
      expect(fold([r, h1, wentOffline, h2, removed]).status).toBe('removed');
    });
  });
});

import { deciderSpec } from '../testing/given';
import {
  DatedNodeEvent, decideNode, DEFAULT_LISTEN_PORT, evolveNode, initialNodeState, NodeCommand, NodeRegistered,
  NodeRemoved, NodeState, NodeWentOffline, RegisterNode, TenantNodeIndex,
} from './node';
import { emptyHeartbeatBaseline, NodeHeartbeatRecordedV1 } from './heartbeat';
import { parsePolicyFile, PolicyFile } from '../policy/policy-file';
import { tagOwnership } from '../policy/tag-owners';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const given = deciderSpec<NodeCommand, DatedNodeEvent, NodeState>(decideNode, evolveNode, initialNodeState, NOW);

const emptyTenant: TenantNodeIndex = { publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: null };

function strict(doc: unknown): PolicyFile {
  const parsed = parsePolicyFile(doc, { strict: true });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.policy;
}
/** Who may put which tag, as a team writes it. */
const TEAM = strict({
  groups: { 'group:ops': ['carol@example.com'] },
  tagOwners: {
    'tag:web': ['alice@example.com', 'group:ops'],
    'tag:db': ['group:ops', 'autogroup:admin'],
    'tag:ci': ['autogroup:owner'],
    'tag:deploy': ['tag:ci'],
    'tag:lab': ['autogroup:member'],
    'tag:orphan': [],
  },
  acls: [],
});
const alice = tagOwnership(TEAM, { email: 'alice@example.com', role: 'member' });
const carol = tagOwnership(TEAM, { email: 'carol@example.com', role: 'member' });
const dave = tagOwnership(TEAM, { email: 'dave@example.com', role: 'member' });
const admin = tagOwnership(TEAM, { email: 'erin@example.com', role: 'admin' });
const owner = tagOwnership(TEAM, { email: 'frank@example.com', role: 'owner' });
const ciKey = tagOwnership(TEAM, { tags: ['tag:ci'] });

const register = (overrides: Partial<RegisterNode> = {}): RegisterNode => ({
  type: 'RegisterNode', nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', tags: ['tag:web'], tokenHash: 'th',
  owner: 'u-alice', tagOwnership: alice, tenant: emptyTenant, ...overrides,
});
const registered = (overrides: Partial<NodeRegistered['data']> = {}): NodeRegistered => ({
  type: 'NodeRegistered',
  data: {
    nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', address: '100.64.0.1', endpoint: null,
    listenPort: DEFAULT_LISTEN_PORT, tags: ['tag:web'], owner: 'u-alice', tokenHash: 'th', enrollmentKeyId: null, ...overrides,
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
  describe('RenameNode', () => {
    const rename = (name: string, taken: string[] = []): NodeCommand => ({ type: 'RenameNode', nodeId: 'n1', name, tenant: { nameTaken: (n) => taken.includes(n) } });
    it('renames a live node, naming the previous name; the same name again is a no-op', () => {
      given([registered()]).when(rename('db-1')).then([{ type: 'NodeRenamed', data: { nodeId: 'n1', name: 'db-1', previousName: 'web-1' } }]);
      given([registered(), { type: 'NodeRenamed', data: { nodeId: 'n1', name: 'db-1', previousName: 'web-1' } }]).when(rename('db-1')).then([]);
      given([registered()]).when(rename('web-1')).then([]);
    });
    it('refuses a name another node of the tenant has, and a node that is gone', () => {
      given([registered()]).when(rename('db-1', ['db-1'])).thenThrows('NODE_NAME_TAKEN');
      given([registered(), removed]).when(rename('db-1')).thenThrows('NODE_NOT_FOUND');
      given([]).when(rename('db-1')).thenThrows('NODE_NOT_FOUND');
    });
  });

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

    it('takes the next address of its lane while its replica races others, whatever the tenant\u2019s highest address', () => {
      given([])
        .when(register({ tenant: { ...emptyTenant, lastAllocatedAddress: '100.64.9.9', addressLane: { lane: 3, lastAllocated: '100.64.3.254' } } }))
        .then([registered({ address: '100.64.11.1' })]);
    });

    it('stores tags in Tailscale\u2019s syntax, de-duplicated and sorted: a bare name is the tag it names', () => {
      given([]).when(register({ tags: ['web', 'tag:db', 'tag:web', 'lab'], tagOwnership: carol, owner: 'u-carol' }))
        .then([registered({ tags: ['tag:db', 'tag:lab', 'tag:web'], owner: 'u-carol' })]);
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

  describe('owners and tag ownership at registration', () => {
    it('records the registering user as the owner of an untagged node, and null for a tagged key\u2019s node', () => {
      given([]).when(register({ tags: [] })).then([registered({ tags: [] })]);
      given([]).when(register({ tags: [], owner: null, grantedTags: ['tag:ci'], tagOwnership: ciKey, enrollmentKeyId: 'k1' }))
        .then([registered({ tags: ['tag:ci'], owner: null, enrollmentKeyId: 'k1' })]);
    });

    it('lets a user put a tag tagOwners gives them: by email, by group, by tenant role (autogroup:member/admin/owner)', () => {
      given([]).when(register({ tags: ['tag:web'] })).then([registered()]);
      given([]).when(register({ tags: ['tag:web', 'tag:db'], tagOwnership: carol, owner: 'u-carol' }))
        .then([registered({ tags: ['tag:db', 'tag:web'], owner: 'u-carol' })]);
      given([]).when(register({ tags: ['tag:db'], tagOwnership: admin, owner: 'u-erin' })).then([registered({ tags: ['tag:db'], owner: 'u-erin' })]);
      given([]).when(register({ tags: ['tag:ci'], tagOwnership: owner, owner: 'u-frank' })).then([registered({ tags: ['tag:ci'], owner: 'u-frank' })]);
      given([]).when(register({ tags: ['tag:lab'], tagOwnership: dave, owner: 'u-dave' })).then([registered({ tags: ['tag:lab'], owner: 'u-dave' })]);
    });

    it('refuses a tag the user does not own, an undeclared tag and a tag nobody owns, naming each', () => {
      const refusal = (command: RegisterNode) => {
        try {
          decideNode(command, initialNodeState, { now: NOW });
        } catch (e) {
          return e as Error & { code: string; kind: string };
        }
        throw new Error('expected a refusal');
      };
      given([]).when(register({ tags: ['tag:db'] })).thenThrows('TAG_NOT_OWNED');
      given([]).when(register({ tags: ['tag:web'], tagOwnership: dave })).thenThrows('TAG_NOT_OWNED');
      given([]).when(register({ tags: ['tag:ci'], tagOwnership: admin })).thenThrows('TAG_NOT_OWNED'); // owners only
      given([]).when(register({ tags: ['tag:orphan'], tagOwnership: owner })).thenThrows('TAG_NOT_OWNED');
      given([]).when(register({ tags: ['tag:web'], tagOwnership: undefined })).thenThrows('TAG_NOT_OWNED'); // no authority given
      const e = refusal(register({ tags: ['tag:web', 'db', 'tag:nowhere'] }));
      expect(e).toMatchObject({ code: 'TAG_NOT_OWNED', kind: 'FORBIDDEN' });
      expect(e.message).toMatch(/^tag:db, tag:nowhere: /);
    });

    it('gives a key\u2019s node the key\u2019s tags, and more only when a tag the key carries owns them', () => {
      const viaKey = { owner: null, grantedTags: ['tag:ci'], tagOwnership: ciKey, enrollmentKeyId: 'k1' };
      given([]).when(register({ ...viaKey, tags: ['tag:deploy'] }))
        .then([registered({ tags: ['tag:ci', 'tag:deploy'], owner: null, enrollmentKeyId: 'k1' })]);
      given([]).when(register({ ...viaKey, tags: ['ci'] })).then([registered({ tags: ['tag:ci'], owner: null, enrollmentKeyId: 'k1' })]);
      given([]).when(register({ ...viaKey, tags: ['tag:web'] })).thenThrows('TAG_NOT_OWNED');
    });
  });

  describe('RetagNode', () => {
    const retag = (tags: string[], by = admin) => ({ type: 'RetagNode' as const, nodeId: 'n1', tags, tagOwnership: by });

    it('replaces the tags; each new tag must be the actor\u2019s to put, tags the node keeps need not be', () => {
      given([registered()]).when(retag(['tag:web', 'db']))
        .then([{ type: 'NodeTagsChanged', data: { nodeId: 'n1', tags: ['tag:db', 'tag:web'] } }]);
      given([registered({ tags: ['tag:web', 'tag:ci'] })]).when(retag(['tag:ci'])) // admin keeps tag:ci (owners only) and drops tag:web
        .then([{ type: 'NodeTagsChanged', data: { nodeId: 'n1', tags: ['tag:ci'] } }]);
      given([registered()]).when(retag([])).then([{ type: 'NodeTagsChanged', data: { nodeId: 'n1', tags: [] } }]);
    });

    it('refuses a tag the actor does not own, naming it; the same tags are no change', () => {
      given([registered()]).when(retag(['tag:web', 'tag:ci'])).thenThrows('TAG_NOT_OWNED');
      given([registered()]).when(retag(['tag:deploy'], owner)).thenThrows('TAG_NOT_OWNED');
      given([registered()]).when(retag(['web'])).then([]);
    });

    it('keeps a node without a user owner tagged, and refuses unknown or removed nodes', () => {
      given([registered({ owner: null, tags: ['tag:ci'] })]).when(retag([], owner)).thenThrows('NODE_OWNER_REQUIRED');
      given([registered({ owner: undefined, tags: ['tag:ci'] })]).when(retag([], owner)).thenThrows('NODE_OWNER_REQUIRED');
      given([]).when(retag(['tag:web'])).thenThrows('NODE_NOT_FOUND');
      given([registered(), removed]).when(retag(['tag:web'])).thenThrows('NODE_NOT_FOUND');
    });

    it('reads old events: bare tags as tag:x, no owner as none', () => {
      const old = registered({ tags: ['web'], owner: undefined });
      expect(fold([old])).toMatchObject({ tags: ['tag:web'], owner: null });
      given([old]).when(retag(['tag:web'])).then([]);
      given([old, { type: 'NodeTagsChanged', data: { nodeId: 'n1', tags: ['tag:db'] } }]).when(retag(['tag:db'])).then([]);
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

    it('spells IPv6 routes and the default routes one way (RFC 5952, as the contracts\' IP helper writes them)', () => {
      given([]).when(register({ advertisedRoutes: ['0:0:0:0:0:0:0:0/0', 'FD00:0:0:0:0:0:0:7/64', '0.0.0.0/0'] }))
        .then([registered({ advertisedRoutes: ['0.0.0.0/0', '::/0', 'fd00::/64'] })]);
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
      const base = { publicKey: 'PK1', name: 'web-1', advertisedRoutes: undefined, heartbeat: emptyHeartbeatBaseline, tags: ['tag:web'], owner: 'u-alice' };
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

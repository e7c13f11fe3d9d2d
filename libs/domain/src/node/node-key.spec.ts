import { deciderSpec } from '../testing/given';
import {
  DatedNodeEvent, decideNode, DEFAULT_LISTEN_PORT, evolveNode, initialNodeState, NodeCommand, NodeKeyExpired, NodeKeyExpirySet,
  NodeKeyRotated, NodeRegistered, NodeRemoved, NodeState, NodeWentOffline, nodeKeyExpiresAt, RegisterNode, TenantNodeIndex,
} from './node';

const NOW = new Date('2026-07-01T00:00:00.000Z');
const given = deciderSpec<NodeCommand, DatedNodeEvent, NodeState>(decideNode, evolveNode, initialNodeState, NOW);
const fold = (events: DatedNodeEvent[]): NodeState => events.reduce(evolveNode, initialNodeState);

const REGISTERED_AT = '2026-01-01T00:00:00.000Z';
/** As the log returns it: dated by recordedAt, which is where the key's age counts from. */
const registered = (overrides: Partial<NodeRegistered['data']> = {}, recordedAt = REGISTERED_AT): DatedNodeEvent => ({
  type: 'NodeRegistered', recordedAt,
  data: {
    nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', address: '100.64.0.1', endpoint: null,
    listenPort: DEFAULT_LISTEN_PORT, tags: [], tokenHash: 'th', enrollmentKeyId: null, ...overrides,
  },
});
const rotated = (publicKey: string, previousPublicKey: string, recordedAt: string): DatedNodeEvent =>
  ({ type: 'NodeKeyRotated', data: { nodeId: 'n1', publicKey, previousPublicKey }, recordedAt } satisfies NodeKeyRotated & { recordedAt: string });
const expired = (issuedAt = REGISTERED_AT, at = NOW.toISOString()): NodeKeyExpired =>
  ({ type: 'NodeKeyExpired', data: { nodeId: 'n1', publicKey: 'PK1', issuedAt, at } });
const expirySet = (disabled: boolean): NodeKeyExpirySet => ({ type: 'NodeKeyExpirySet', data: { nodeId: 'n1', disabled } });
const removed: NodeRemoved = { type: 'NodeRemoved', data: { nodeId: 'n1', publicKey: 'PK1' } };
const wentOffline = (at: string): NodeWentOffline => ({ type: 'NodeWentOffline', data: { nodeId: 'n1', lastSeenAt: null, at } });
const seen = (recordedAt: string): DatedNodeEvent => ({ type: 'NodeSeen', data: {}, recordedAt });

const noKeys: Pick<TenantNodeIndex, 'publicKeyTaken'> = { publicKeyTaken: () => false };
const rotate = (publicKey: string, tenant = noKeys): NodeCommand => ({ type: 'RotateNodeKey', nodeId: 'n1', publicKey, tenant });
const expire = (expiryDays: number): NodeCommand => ({ type: 'ExpireNodeKey', nodeId: 'n1', expiryDays });
/** Key registered 2026-01-01, now 2026-07-01: 181 days old. */
const KEY_AGE_DAYS = 181;

describe('node keys', () => {
  describe('RotateNodeKey', () => {
    it('rotates to a new key, naming the previous one', () => {
      given([registered()]).when(rotate('PK2')).then([{ type: 'NodeKeyRotated', data: { nodeId: 'n1', publicKey: 'PK2', previousPublicKey: 'PK1' } }]);
    });

    it('rotating to the key the node holds changes nothing (an agent retrying after a crash)', () => {
      given([registered(), rotated('PK2', 'PK1', '2026-02-01T00:00:00.000Z')]).when(rotate('PK2')).then([]);
    });

    it('refuses a key another node of the tenant holds', () => {
      given([registered()]).when(rotate('PK9', { publicKeyTaken: (k) => k === 'PK9' })).thenThrows('PUBLIC_KEY_TAKEN');
    });

    it('refuses an unknown or removed node', () => {
      given([]).when(rotate('PK2')).thenThrows('NODE_NOT_FOUND');
      given([registered(), removed]).when(rotate('PK2')).thenThrows('NODE_NOT_FOUND');
    });

    it('an expired node rotates and is no longer expired; the key age restarts at the rotation', () => {
      const rotatedAt = '2026-06-30T00:00:00.000Z';
      const state = fold([registered(), expired(), rotated('PK2', 'PK1', rotatedAt)]);
      expect(state).toMatchObject({ publicKey: 'PK2', keyExpired: false, keyIssuedAt: rotatedAt });
      given([registered(), expired(), rotated('PK2', 'PK1', rotatedAt)]).when(expire(2)).then([]);
    });
  });

  describe('ExpireNodeKey', () => {
    it('expires a key older than the tenant expiry, dated by the sweeper clock', () => {
      given([registered()]).when(expire(180)).then([expired()]);
    });

    it('keeps a key younger than the expiry; the boundary itself expires', () => {
      given([registered()]).when(expire(KEY_AGE_DAYS + 1)).then([]);
      given([registered()]).when(expire(KEY_AGE_DAYS)).then([expired()]);
      expect(nodeKeyExpiresAt(REGISTERED_AT, KEY_AGE_DAYS)).toBe(NOW.toISOString());
    });

    it('counts from the last rotation', () => {
      given([registered(), rotated('PK2', 'PK1', '2026-06-01T00:00:00.000Z')]).when(expire(180)).then([]);
    });

    it('is silent for an expired, expiry-disabled or removed node', () => {
      given([registered(), expired()]).when(expire(1)).then([]);
      given([registered(), expirySet(true)]).when(expire(1)).then([]);
      given([registered(), removed]).when(expire(1)).then([]);
      given([]).when(expire(1)).then([]);
    });

    it('expires again once expiry is turned back on', () => {
      given([registered(), expirySet(true), expirySet(false)]).when(expire(180)).then([expired()]);
    });
  });

  describe('SetNodeKeyExpiry', () => {
    const set = (disabled: boolean): NodeCommand => ({ type: 'SetNodeKeyExpiry', nodeId: 'n1', disabled });

    it('disables and re-enables, and says nothing when unchanged', () => {
      given([registered()]).when(set(true)).then([expirySet(true)]);
      given([registered(), expirySet(true)]).when(set(true)).then([]);
      given([registered(), expirySet(true)]).when(set(false)).then([expirySet(false)]);
      given([registered()]).when(set(false)).then([]);
    });

    it('disabling brings an expired node back', () => {
      expect(fold([registered(), expired(), expirySet(true)])).toMatchObject({ keyExpired: false, keyExpiryDisabled: true });
    });

    it('refuses an unknown or removed node', () => {
      given([]).when(set(true)).thenThrows('NODE_NOT_FOUND');
      given([registered(), removed]).when(set(true)).thenThrows('NODE_NOT_FOUND');
    });
  });

  describe('RemoveEphemeralNode', () => {
    const reap = (inactiveBefore: string): NodeCommand => ({ type: 'RemoveEphemeralNode', nodeId: 'n1', inactiveBefore: new Date(inactiveBefore) });
    const ephemeral = registered({ ephemeral: true });

    it('registers an ephemeral node as such', () => {
      const command: RegisterNode = {
        type: 'RegisterNode', nodeId: 'n1', tenantId: 't1', name: 'web-1', publicKey: 'PK1', tags: [], tokenHash: 'th',
        tenant: { publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: null }, ephemeral: true,
      };
      const { recordedAt: _unused, ...event } = ephemeral;
      given([]).when(command).then([event as DatedNodeEvent]);
    });

    it('removes an ephemeral node offline since before the cut-off', () => {
      given([ephemeral, seen('2026-06-01T00:00:00.000Z'), wentOffline('2026-06-01T00:02:00.000Z')])
        .when(reap('2026-06-01T00:10:00.000Z')).then([removed]);
    });

    it('removes an ephemeral node that never came online once its registration is older than the cut-off', () => {
      given([ephemeral]).when(reap('2026-01-01T00:10:00.000Z')).then([removed]);
      given([ephemeral]).when(reap(REGISTERED_AT)).then([]);
    });

    it('keeps it while online, offline since the cut-off, or back online; keeps any node not ephemeral', () => {
      given([ephemeral, seen('2026-06-01T00:00:00.000Z')]).when(reap('2026-06-30T00:00:00.000Z')).then([]);
      given([ephemeral, seen('2026-06-01T00:00:00.000Z'), wentOffline('2026-06-01T00:10:00.000Z')]).when(reap('2026-06-01T00:10:00.000Z')).then([]);
      given([ephemeral, wentOffline('2026-06-01T00:02:00.000Z'), seen('2026-06-01T00:03:00.000Z')]).when(reap('2026-06-30T00:00:00.000Z')).then([]);
      given([registered(), wentOffline('2026-06-01T00:02:00.000Z')]).when(reap('2026-06-30T00:00:00.000Z')).then([]);
    });

    it('is silent for a node already removed', () => {
      given([ephemeral, wentOffline('2026-06-01T00:02:00.000Z'), removed]).when(reap('2026-06-30T00:00:00.000Z')).then([]);
    });
  });
});

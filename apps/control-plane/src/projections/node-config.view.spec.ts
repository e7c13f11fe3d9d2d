import type { RecordedEvent } from '@meshgate/domain';
import { NodeConfigView } from './node-config.view';

/**
 * The node-config view's IdP groups: given the log of a tenant whose policy names `idp:engineering`, when a user's
 * IdP groups change, then their node's peers change by a patch; and a snapshot taken in between restores to a view
 * that goes on exactly as the one that read the whole log.
 */
const TENANT = 't1';
let position = 0;
const event = (type: string, data: Record<string, unknown>, streamId: string, streamVersion = 1): RecordedEvent => ({
  position: ++position, tenantId: TENANT, streamId, streamVersion, type, data, metadata: { actor: { kind: 'system', id: 'spec' } },
  recordedAt: '2026-12-01T00:00:00.000Z',
} as RecordedEvent);
const user = (userId: string, email: string, groups: string[]) => [
  event('UserProvisioned', { userId, email, issuer: 'https://idp.example', subject: userId }, `user-${userId}`),
  ...(groups.length ? [event('UserGroupsChanged', { userId, groups }, `user-${userId}`, 2)] : []),
  event('MemberAdded', { tenantId: TENANT, userId, role: 'member' }, `tenant-${TENANT}`),
];
const node = (nodeId: string, owner: string | null, tags: string[] = []) => event('NodeRegistered', {
  nodeId, tenantId: TENANT, name: nodeId, publicKey: `pk-${nodeId}`, address: `100.64.0.${++position}`, endpoint: null,
  listenPort: 51820, tags, owner, tokenHash: 'x',
}, `node-${nodeId}`);
const POLICY = {
  groups: { 'group:eng': ['idp:engineering'] }, tagOwners: { 'tag:db': ['group:eng'] },
  acls: [{ action: 'accept', src: ['group:eng'], proto: 'tcp', dst: ['tag:db:5432'] }],
};
const log = () => [
  ...user('gina', 'gina@example.com', ['engineering']), ...user('hank', 'hank@example.com', ['sales']),
  event('PolicyUpdated', { tenantId: TENANT, version: 1, policy: POLICY }, `policy-${TENANT}`),
  node('gina-laptop', 'gina'), node('hank-laptop', 'hank'), node('db-1', null, ['tag:db']),
];
const peers = (view: NodeConfigView, id: string) => view.configOf(id)!.peers.map((p) => p.publicKey).sort();

describe('node-config view: IdP groups', () => {
  it('given idp:engineering in the policy, when a user leaves the group, then their node leaves the db\u2019s config by a patch', () => {
    const view = new NodeConfigView(() => true);
    for (const e of log()) view.apply(e);
    view.drainPushes();
    expect(peers(view, 'db-1')).toEqual(['pk-gina-laptop']);
    const before = view.versionOf('db-1')!;

    view.apply(event('UserGroupsChanged', { userId: 'gina', groups: ['oncall'] }, 'user-gina', 3));
    expect(peers(view, 'db-1')).toEqual([]);
    expect(view.versionOf('db-1')).toBe(before + 1);
    const { patches } = view.drainPushes();
    expect(patches.map((p) => [p.nodeId, p.patch.peersRemoved]).sort()).toEqual([['db-1', ['pk-gina-laptop']], ['gina-laptop', ['pk-db-1']]]);
    // Groups that the policy does not name change nobody's config.
    view.apply(event('UserGroupsChanged', { userId: 'hank', groups: ['marketing'] }, 'user-hank', 3));
    expect(view.drainPushes().patches).toEqual([]);
    expect(view.versionOf('db-1')).toBe(before + 1);
  });

  it('given tagOwners with an IdP member, then the user\u2019s current IdP groups decide tag ownership', () => {
    const view = new NodeConfigView();
    for (const e of log()) view.apply(e);
    expect(view.tagOwnershipOf(TENANT, { userId: 'gina', role: 'member' }).owns('tag:db')).toBe(true);
    expect(view.tagOwnershipOf(TENANT, { userId: 'hank', role: 'member' }).owns('tag:db')).toBe(false);
  });

  it('given a snapshot, when restored and fed the rest of the log, then it equals the view that read it all', () => {
    const events = [...log(), event('UserGroupsChanged', { userId: 'hank', groups: ['engineering'] }, 'user-hank', 3),
      event('UserGroupsChanged', { userId: 'gina', groups: [] }, 'user-gina', 3)];
    const whole = new NodeConfigView();
    for (const e of events) whole.apply(e);
    const cut = log().length;
    const first = new NodeConfigView();
    for (const e of events.slice(0, cut)) first.apply(e);
    const restored = new NodeConfigView();
    restored.restore(JSON.parse(JSON.stringify(first.snapshot())));
    for (const e of events.slice(cut)) restored.apply(e);
    expect(restored.snapshot()).toEqual(whole.snapshot());
    expect(peers(restored, 'db-1')).toEqual(['pk-hank-laptop']);
    expect((whole.snapshot() as { idpGroups: unknown }).idpGroups).toEqual([['hank', ['engineering']]]);
  });
});

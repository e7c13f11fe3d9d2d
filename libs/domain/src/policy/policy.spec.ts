import { deciderSpec } from '../testing/given';
import { EMPTY_POLICY, PolicyDocument } from './policy-document';
import { decidePolicy, evolvePolicy, initialPolicyState, PolicyUpdated } from './policy';

const given = deciderSpec(decidePolicy, evolvePolicy, initialPolicyState);

const meshAll: PolicyDocument = { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] };
const webToDb: PolicyDocument = { acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db'] }] };
const updated = (version: number, policy: PolicyDocument): PolicyUpdated => ({ type: 'PolicyUpdated', data: { tenantId: 't1', version, policy } });

describe('policy decider', () => {
  it('starts at version 0 with the empty (deny-all) policy', () => {
    expect(initialPolicyState).toEqual({ version: 0, policy: EMPTY_POLICY });
    expect(EMPTY_POLICY.acls).toEqual([]);
  });

  it('the first update is version 1', () => {
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll }).then([updated(1, meshAll)]);
  });

  it('each update raises the version by one', () => {
    given([updated(1, meshAll), updated(2, webToDb)]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll }).then([updated(3, meshAll)]);
  });

  it('accepts an update whose expected version is the current one', () => {
    given([updated(1, meshAll)]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: webToDb, expectedVersion: 1 }).then([updated(2, webToDb)]);
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: webToDb, expectedVersion: 0 }).then([updated(1, webToDb)]);
  });

  it('refuses an update made against a stale version (lost-update guard)', () => {
    given([updated(1, meshAll), updated(2, webToDb)])
      .when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll, expectedVersion: 1 })
      .thenThrows('POLICY_VERSION_MISMATCH');
    given([]).when({ type: 'UpdatePolicy', tenantId: 't1', policy: meshAll, expectedVersion: 3 }).thenThrows('POLICY_VERSION_MISMATCH');
  });

  it('evolves to the latest document and version', () => {
    expect([updated(1, meshAll), updated(2, webToDb)].reduce(evolvePolicy, initialPolicyState)).toEqual({ version: 2, policy: webToDb });
  });
});

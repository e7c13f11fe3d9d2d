import { deciderSpec } from '../testing/given';
import {
  decideUser, evolveUser, initialUserState, normalizeEmail, ProvisionUser, RegisterUser, UserGroupsChanged, UserProvisioned, UserRegistered,
} from './user';

const given = deciderSpec(decideUser, evolveUser, initialUserState);

const register = (overrides: Partial<RegisterUser> = {}): RegisterUser => ({
  type: 'RegisterUser', userId: 'u1', email: 'Alice@Example.com', passwordHash: 'hash', emailTaken: false, firstUser: false, ...overrides,
});
const registered: UserRegistered = { type: 'UserRegistered', data: { userId: 'u1', email: 'alice@example.com', passwordHash: 'hash' } };

describe('user decider', () => {
  it('registers a new user with the email normalised', () => {
    given([]).when(register({ email: '  Alice@Example.COM ' })).then([registered]);
  });

  it('marks the deployment\'s first user, let in without an invitation, and nobody else', () => {
    given([]).when(register({ firstUser: true })).then([{ ...registered, data: { ...registered.data, firstUser: true } }]);
  });

  it('refuses an email another user holds', () => {
    given([]).when(register({ emailTaken: true })).thenThrows('EMAIL_TAKEN');
  });

  it('refuses to register the same user twice', () => {
    given([registered]).when(register({ email: 'other@example.com' })).thenThrows('USER_EXISTS');
  });

  it('evolves to an existing user with its email', () => {
    expect(evolveUser(initialUserState, registered)).toEqual({ exists: true, userId: 'u1', email: 'alice@example.com', groups: [] });
  });

  it('normalises emails by trimming and lower-casing', () => {
    expect(normalizeEmail(' Bob@EXAMPLE.org\n')).toBe('bob@example.org');
  });
});

describe('user decider: single sign-on', () => {
  const provision = (overrides: Partial<ProvisionUser> = {}): ProvisionUser => ({
    type: 'ProvisionUser', userId: 'u1', email: 'Alice@Example.com', issuer: 'https://idp.example', subject: 'sub-1',
    emailTaken: false, groups: [], ...overrides,
  });
  const provisioned: UserProvisioned = {
    type: 'UserProvisioned', data: { userId: 'u1', email: 'alice@example.com', issuer: 'https://idp.example', subject: 'sub-1' },
  };
  const groupsChanged = (groups: string[]): UserGroupsChanged => ({ type: 'UserGroupsChanged', data: { userId: 'u1', groups } });

  it('provisions a user at first sign-on with the IdP subject, and their groups sorted without duplicates', () => {
    given([]).when(provision({ groups: ['ops', 'engineering', 'ops'] })).then([provisioned, groupsChanged(['engineering', 'ops'])]);
  });

  it('records no groups event for a user the IdP puts in no group', () => {
    given([]).when(provision()).then([provisioned]);
  });

  it('refuses an email a password account holds, and a user provisioned twice', () => {
    given([]).when(provision({ emailTaken: true })).thenThrows('EMAIL_TAKEN');
    given([provisioned]).when(provision()).thenThrows('USER_EXISTS');
  });

  it('records the groups of a later sign-on only when they changed', () => {
    given([provisioned, groupsChanged(['engineering'])]).when({ type: 'RecordUserGroups', groups: ['engineering'] }).then([]);
    given([provisioned, groupsChanged(['engineering'])]).when({ type: 'RecordUserGroups', groups: ['sales', 'engineering'] })
      .then([groupsChanged(['engineering', 'sales'])]);
    given([provisioned, groupsChanged(['engineering'])]).when({ type: 'RecordUserGroups', groups: [] }).then([groupsChanged([])]);
    given([provisioned]).when({ type: 'RecordUserGroups', groups: [] }).then([]);
  });

  it('refuses groups for a user that does not exist', () => {
    given([]).when({ type: 'RecordUserGroups', groups: ['x'] }).thenThrows('USER_NOT_FOUND');
  });
});

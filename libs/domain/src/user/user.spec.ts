import { deciderSpec } from '../testing/given';
import { decideUser, evolveUser, initialUserState, normalizeEmail, RegisterUser, UserRegistered } from './user';

const given = deciderSpec(decideUser, evolveUser, initialUserState);

const register = (overrides: Partial<RegisterUser> = {}): RegisterUser => ({
  type: 'RegisterUser', userId: 'u1', email: 'Alice@Example.com', passwordHash: 'hash', emailTaken: false, ...overrides,
});
const registered: UserRegistered = { type: 'UserRegistered', data: { userId: 'u1', email: 'alice@example.com', passwordHash: 'hash' } };

describe('user decider', () => {
  it('registers a new user with the email normalised', () => {
    given([]).when(register({ email: '  Alice@Example.COM ' })).then([registered]);
  });

  it('refuses an email another user holds', () => {
    given([]).when(register({ emailTaken: true })).thenThrows('EMAIL_TAKEN');
  });

  it('refuses to register the same user twice', () => {
    given([registered]).when(register({ email: 'other@example.com' })).thenThrows('USER_EXISTS');
  });

  it('evolves to an existing user with its email', () => {
    expect(evolveUser(initialUserState, registered)).toEqual({ exists: true, email: 'alice@example.com' });
  });

  it('normalises emails by trimming and lower-casing', () => {
    expect(normalizeEmail(' Bob@EXAMPLE.org\n')).toBe('bob@example.org');
  });
});

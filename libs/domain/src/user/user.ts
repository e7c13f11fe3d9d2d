import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';

/**
 * `firstUser`: let in without an invitation as the deployment's first user (registration by invitation). There is
 * only ever one: the directory's unique key decides a race between replicas.
 */
export type UserRegistered = Event<'UserRegistered', { userId: string; email: string; passwordHash: string; firstUser?: true }>;
/** A user created at their first single sign-on: identified by the IdP's issuer and subject, with no password. */
export type UserProvisioned = Event<'UserProvisioned', { userId: string; email: string; issuer: string; subject: string }>;
/** The user's IdP groups as of their latest sign-on (sorted, without duplicates): what `idp:<group>` in policy matches. */
export type UserGroupsChanged = Event<'UserGroupsChanged', { userId: string; groups: string[] }>;
export type UserEvent = UserRegistered | UserProvisioned | UserGroupsChanged;

export type RegisterUser = {
  type: 'RegisterUser';
  userId: string;
  email: string;
  passwordHash: string;
  /** Whether another user already holds this email (from the users read model, checked under the users lock). */
  emailTaken: boolean;
  /** Registering uninvited as the deployment's first user (registration by invitation, nobody registered yet). */
  firstUser: boolean;
};
export type ProvisionUser = {
  type: 'ProvisionUser';
  userId: string;
  email: string;
  issuer: string;
  subject: string;
  /** As for RegisterUser: an email held by another (password) account is refused, never merged. */
  emailTaken: boolean;
  groups: string[];
};
/** The groups claim of a sign-on: recorded only when it differs from the groups last recorded. */
export type RecordUserGroups = { type: 'RecordUserGroups'; groups: string[] };
export type UserCommand = RegisterUser | ProvisionUser | RecordUserGroups;

export type UserState = { exists: boolean; userId?: string; email?: string; groups: string[] };
export const initialUserState: UserState = { exists: false, groups: [] };

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const normalizeGroups = (groups: readonly string[]): string[] => [...new Set(groups)].sort();

const sameGroups = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((g, i) => g === b[i]);

export const decideUser = (command: UserCommand, state: UserState): UserEvent[] => {
  switch (command.type) {
    case 'RegisterUser': {
      if (state.exists) throw new DomainError('USER_EXISTS', 'CONFLICT', 'user already exists');
      if (command.emailTaken) throw new DomainError('EMAIL_TAKEN', 'CONFLICT', 'email is already registered');
      const { userId, passwordHash, firstUser } = command;
      return [{ type: 'UserRegistered', data: { userId, email: normalizeEmail(command.email), passwordHash, ...(firstUser ? { firstUser: true as const } : {}) } }];
    }
    case 'ProvisionUser': {
      if (state.exists) throw new DomainError('USER_EXISTS', 'CONFLICT', 'user already exists');
      if (command.emailTaken) {
        throw new DomainError('EMAIL_TAKEN', 'CONFLICT', 'this email is registered with a password: sign in with it instead of single sign-on');
      }
      const { userId, issuer, subject } = command;
      const groups = normalizeGroups(command.groups);
      return [
        { type: 'UserProvisioned', data: { userId, email: normalizeEmail(command.email), issuer, subject } },
        ...(groups.length > 0 ? [{ type: 'UserGroupsChanged' as const, data: { userId, groups } }] : []),
      ];
    }
    case 'RecordUserGroups': {
      if (!state.exists || !state.userId) throw new DomainError('USER_NOT_FOUND', 'NOT_FOUND', 'user not found');
      const groups = normalizeGroups(command.groups);
      return sameGroups(groups, state.groups) ? [] : [{ type: 'UserGroupsChanged', data: { userId: state.userId, groups } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

export const evolveUser = (state: UserState, event: UserEvent): UserState => {
  switch (event.type) {
    case 'UserRegistered':
    case 'UserProvisioned':
      return { exists: true, userId: event.data.userId, email: event.data.email, groups: [] };
    case 'UserGroupsChanged':
      return { ...state, groups: event.data.groups };
    default:
      return state;
  }
};

import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';

export type UserRegistered = Event<'UserRegistered', { userId: string; email: string; passwordHash: string }>;
export type UserEvent = UserRegistered;

export type RegisterUser = {
  type: 'RegisterUser';
  userId: string;
  email: string;
  passwordHash: string;
  /** Whether another user already holds this email (from the users read model, checked under the users lock). */
  emailTaken: boolean;
};
export type UserCommand = RegisterUser;

export type UserState = { exists: boolean; email?: string };
export const initialUserState: UserState = { exists: false };

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export const decideUser = (command: UserCommand, state: UserState): UserEvent[] => {
  switch (command.type) {
    case 'RegisterUser': {
      if (state.exists) throw new DomainError('USER_EXISTS', 'CONFLICT', 'user already exists');
      if (command.emailTaken) throw new DomainError('EMAIL_TAKEN', 'CONFLICT', 'email is already registered');
      return [{ type: 'UserRegistered', data: { userId: command.userId, email: normalizeEmail(command.email), passwordHash: command.passwordHash } }];
    }
    default: {
      const _exhaustive: never = command.type;
      throw new Error(`unknown command ${_exhaustive}`);
    }
  }
};

export const evolveUser = (state: UserState, event: UserEvent): UserState => {
  switch (event.type) {
    case 'UserRegistered':
      return { exists: true, email: event.data.email };
    default:
      return state;
  }
};

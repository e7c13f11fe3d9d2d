import { InitialSchema1732400000000 } from './migrations/1732400000000-initial-schema';
import { PolicyEngine1732500000000 } from './migrations/1732500000000-policy-engine';
import { MemberInvitations1732600000000 } from './migrations/1732600000000-member-invitations';
import { StorageCore1733000000000 } from './migrations/1733000000000-storage-core';
import { IdentityAccess1733120000000 } from './migrations/1733120000000-identity-access';
import { NodeOwners1733130000000 } from './migrations/1733130000000-node-owners';
import { NodeKeys1733140000000 } from './migrations/1733140000000-node-keys';
import { ReachabilityEvents1733153000000 } from './migrations/1733153000000-reachability-events';
import { FirstUser1733160000000 } from './migrations/1733160000000-first-user';

/** In order; TypeORM records which have run in the file's `migrations` table. */
export const SQLITE_MIGRATIONS = [InitialSchema1732400000000, PolicyEngine1732500000000, MemberInvitations1732600000000, StorageCore1733000000000, IdentityAccess1733120000000, NodeOwners1733130000000, NodeKeys1733140000000, ReachabilityEvents1733153000000, FirstUser1733160000000];

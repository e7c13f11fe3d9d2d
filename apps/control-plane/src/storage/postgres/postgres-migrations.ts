import { InitialSchema1733000000000 } from './migrations/1733000000000-initial-schema';
import { IdentityAccess1733120000000 } from './migrations/1733120000000-identity-access';
import { NodeOwners1733130000000 } from './migrations/1733130000000-node-owners';
import { NodeKeys1733140000000 } from './migrations/1733140000000-node-keys';
import { ReachabilityEvents1733153000000 } from './migrations/1733153000000-reachability-events';
import { FirstUser1733160000000 } from './migrations/1733160000000-first-user';

/** In order; TypeORM records which have run in the database's `migrations` table. */
export const POSTGRES_MIGRATIONS = [InitialSchema1733000000000, IdentityAccess1733120000000, NodeOwners1733130000000, NodeKeys1733140000000, ReachabilityEvents1733153000000, FirstUser1733160000000];

import { InitialSchema1733000000000 } from './migrations/1733000000000-initial-schema';

/** In order; TypeORM records which have run in the database's `migrations` table. */
export const POSTGRES_MIGRATIONS = [InitialSchema1733000000000];

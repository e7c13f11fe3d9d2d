/** The audit time machine's pure part: a tenant's reachability folded from its events, and what the answers explain. */
export * from './tenant-history';
export * from './access-reach';
export * from './reachability';
export * from './timeline';
export * from './node-history';
export * from './policy-diff';

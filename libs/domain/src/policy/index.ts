/**
 * The policy engine (issue 6): pure parsing of the policy file, evaluation, tests, tag ownership and per-node
 * enforcement data. The policy decider (policy.ts, events and commands) sits beside it and is exported at the top.
 */
export * from './hujson';
export * from './ports';
export * from './policy-file';
export * from './schedule';
export * from './evaluate';
export * from './resolve';
export * from './policy-tests';
export * from './tag-owners';

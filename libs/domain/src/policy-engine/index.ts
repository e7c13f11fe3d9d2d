/** The policy engine (issue 6): pure parsing, evaluation, tests, previews and per-node enforcement data. */
export * from './hujson';
export * from './ip';
export * from './ports';
export * from './policy-v2';
export * from './schedule';
export * from './evaluate';
export * from './resolve';
export * from './policy-tests';

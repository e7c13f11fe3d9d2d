export * from './config';
export * from './auth.dto';
export * from './nodes.dto';
export * from './audit.dto';
export * from './policy.dto';

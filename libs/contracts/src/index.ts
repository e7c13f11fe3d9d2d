export * from './config';
export * from './omittable.decorator';
export * from './timestamp.decorator';
export * from './auth.dto';
export * from './nodes.dto';
export * from './audit.dto';
export * from './policy.dto';

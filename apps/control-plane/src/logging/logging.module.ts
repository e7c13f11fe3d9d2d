import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';
import { createRootLogger, ROOT_LOGGER } from './root-logger';
import { SecurityLog } from './security-log';

/**
 * Nest's own logs and every `new Logger(...)` through nestjs-pino into the root logger. Its pino-http middleware is
 * applied to no route: request logs are written by the Fastify hook in request-log.ts, which knows the route pattern
 * and the principal, and costs a heartbeat no child logger or async context. (nestjs-pino keeps the first app's logger
 * for Nest's lines process-wide; request logs and security events use each app's own ROOT_LOGGER.)
 */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    const root = createRootLogger(config.logLevel);
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: root }, forRoutes: [] })],
      providers: [{ provide: ROOT_LOGGER, useValue: root }, SecurityLog],
      exports: [ROOT_LOGGER, SecurityLog],
    };
  }
}

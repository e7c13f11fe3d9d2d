import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule } from '@nestjs/throttler';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { AuditController } from './audit/audit.controller';
import { AuthModule } from './auth/auth.module';
import { CredentialsGuard } from './auth/credentials.guard';
import { DomainErrorFilter } from './common/domain-error.filter';
import { AppConfig } from './config/app-config';
import { CoreModule } from './core/core.module';
import { EnrollmentKeysModule } from './enrollment-keys/enrollment-keys.module';
import { HealthController } from './health/health.controller';
import { NodesModule } from './nodes/nodes.module';
import { PoliciesModule } from './policies/policies.module';
import { ConfigStreamController } from './stream/config-stream.controller';
import { TenantsModule } from './tenants/tenants.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        CqrsModule.forRoot(),
        JwtModule.register({ global: true, secret: config.jwtSecret, signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
        ThrottlerModule.forRoot([{ name: 'auth', ttl: 60_000, limit: config.authRateLimitPerMinute }]),
        // Default process metrics live in prom-client's global registry: register them once per process, so that a second
        // app in the same process (a restart in place, the e2e specs) does not fail with "already registered".
        PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: !register.getSingleMetric('process_cpu_user_seconds_total') } }),
        AuthModule,
        TenantsModule,
        NodesModule,
        EnrollmentKeysModule,
        PoliciesModule,
      ],
      controllers: [AuditController, ConfigStreamController, HealthController],
      providers: [CredentialsGuard, { provide: APP_FILTER, useClass: DomainErrorFilter }],
    };
  }
}

import { createSecretKey } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditController } from './audit/audit.controller';
import { AuditLogReadModel } from './audit/audit-log.read-model';
import { AuthModule } from './auth/auth.module';
import { CredentialsModule } from './auth/credentials.module';
import { DomainErrorFilter } from './common/domain-error.filter';
import { RetryLaterFilter } from './common/retry-later';
import { StorageFaultFilter } from './common/storage-fault.filter';
import { AppConfig } from './config/app-config';
import { CoreModule } from './core/core.module';
import { DownloadsModule } from './downloads/downloads.module';
import { EnrollmentKeysModule } from './enrollment-keys/enrollment-keys.module';
import { HealthController } from './health/health.controller';
import { LoggingModule } from './logging/logging.module';
import { MetricsListener } from './metrics/metrics-listener';
import { NodesModule } from './nodes/nodes.module';
import { RelaysModule } from './relays/relays.module';
import { PoliciesModule } from './policies/policies.module';
import { rateLimitOptions } from './rate-limits/rate-limit.guard';
import { ConfigStreamController } from './stream/config-stream.controller';
import { TenantsModule } from './tenants/tenants.module';
import { TopologyModule } from './topology/topology.module';
import { TimeMachineModule } from './audit/time-machine/time-machine.module';
import { AuditEvidenceModule } from './audit/audit-evidence.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        LoggingModule.forRoot(config),
        CqrsModule.forRoot(),
        // A key object, not the string: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM
        // key on every sign and verify, which was a quarter of the CPU of an authenticated request.
        JwtModule.register({ global: true, secret: createSecretKey(Buffer.from(config.jwtSecret)), signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
        ThrottlerModule.forRoot(rateLimitOptions(config)),
        CredentialsModule,
        AuthModule,
        TenantsModule,
        NodesModule,
        RelaysModule,
        EnrollmentKeysModule,
        ApiKeysModule,
        TimeMachineModule,
        AuditEvidenceModule,
        DownloadsModule,
        PoliciesModule.forRoot(config),
        TopologyModule,
      ],
      controllers: [AuditController, ConfigStreamController, HealthController],
      providers: [
        MetricsListener,
        AuditLogReadModel,
        { provide: APP_FILTER, useClass: DomainErrorFilter },
        { provide: APP_FILTER, useClass: StorageFaultFilter },
        { provide: APP_FILTER, useClass: RetryLaterFilter },
      ],
    };
  }
}

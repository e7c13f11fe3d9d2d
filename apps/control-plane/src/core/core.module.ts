import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, APP_CONFIG } from '../config/app-config';
import { KeyedMutex } from '../common/keyed-mutex';
import { DirectoryReadModel } from '../auth/directory.read-model';
import { EnrollmentKeysReadModel } from '../enrollment-keys/enrollment-keys.read-model';
import { openSqlite } from '../database/sqlite-database';
import { SQL_RUNNER, SqlRunner } from '../database/sql.port';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { SqliteEventStore } from '../event-store/sqlite-event-store';
import { MetricsService } from '../metrics/metrics.service';
import { allProjections } from '../projections/all-projections';
import { ConfigProjection } from '../projections/config.projection';
import { NodesProjection } from '../projections/nodes.projection';
import { ProjectionRunner } from '../projections/projection-runner';
import { CLOCK, ManualClock, SystemClock } from '../policies/clock';
import { StreamHub } from '../stream/stream-hub';

const SQLITE = Symbol('SQLITE');

class DatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(SQLITE) private readonly sqlite: { dataSource: DataSource }) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.sqlite.dataSource.isInitialized) await this.sqlite.dataSource.destroy();
  }
}

/**
 * The shared machinery every capability reaches through: storage, the event store, projections (and their read
 * models), the stream hub and metrics. Swapping SQLite for PostgreSQL means replacing the SQLITE/SQL_RUNNER/EVENT_STORE
 * providers here.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CLOCK, useValue: config.schedulerClock === 'manual' ? new ManualClock() : new SystemClock() },
        { provide: SQLITE, useFactory: () => openSqlite(config.databasePath) },
        { provide: SQL_RUNNER, inject: [SQLITE], useFactory: (s: { runner: SqlRunner }) => s.runner },
        DatabaseCloser,
        KeyedMutex,
        StreamHub,
        NodesProjection,
        MetricsService,
        {
          provide: ConfigProjection,
          inject: [StreamHub],
          useFactory: (hub: StreamHub) => new ConfigProjection(hub),
        },
        {
          provide: EVENT_STORE,
          inject: [SQL_RUNNER, MetricsService],
          useFactory: (sql: SqlRunner, metrics: MetricsService) =>
            new SqliteEventStore(sql, () => new Date(), config.groupCommitMaxWaitMs, (events, batchSize) => {
              metrics.appendBatchSize.observe(batchSize);
              for (const e of events) metrics.eventsAppended.inc({ type: e.type });
            }),
        },
        {
          provide: ProjectionRunner,
          inject: [SQL_RUNNER, EVENT_STORE, NodesProjection, ConfigProjection],
          useFactory: (sql: SqlRunner, store: EventStore, nodes: NodesProjection, configs: ConfigProjection) => {
            const runner = new ProjectionRunner(sql, store, allProjections(nodes, configs));
            runner.start();
            return runner;
          },
        },
        DirectoryReadModel,
        EnrollmentKeysReadModel,
      ],
      exports: [
        APP_CONFIG, CLOCK, SQL_RUNNER, EVENT_STORE, KeyedMutex, StreamHub, NodesProjection, ConfigProjection, MetricsService,
        ProjectionRunner, DirectoryReadModel, EnrollmentKeysReadModel,
      ],
    };
  }
}

import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, APP_CONFIG } from '../config/app-config';
import { KeyedMutex } from '../common/keyed-mutex';
import { ApiKeysReadModel } from '../api-keys/api-keys.read-model';
import { DirectoryReadModel } from '../auth/directory.read-model';
import { EnrollmentKeysReadModel } from '../enrollment-keys/enrollment-keys.read-model';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { SqlEventStore } from '../event-store/sql-event-store';
import { MetricsService } from '../metrics/metrics.service';
import { AuditLogProjection } from '../projections/audit-log.inline';
import { ReachabilityEventsProjection } from '../projections/reachability-events.inline';
import { ApiKeysProjection } from '../projections/api-keys.inline';
import { DirectoryProjection } from '../projections/directory.inline';
import { InlineProjections } from '../projections/inline-projections';
import { MembershipsView } from '../projections/memberships.view';
import { NodeConfigView } from '../projections/node-config.view';
import { NodeIdentitiesProjection } from '../projections/node-identities.inline';
import { NodesView } from '../projections/nodes.view';
import { ProjectionRunner } from '../projections/projection-runner';
import { ViewFeeder } from '../projections/view-feeder';
import { ViewSnapshots } from '../projections/view-snapshots';
import { CLOCK, ManualClock, SystemClock } from '../policies/clock';
import { DATABASE, Database, LEADERSHIP, Leadership } from '../storage/database.port';
import { openDatabase } from '../storage/open-database';
import { ConfigPushReactor } from '../stream/config-push.reactor';
import { StreamHub } from '../stream/stream-hub';
import { SnapshotTaker } from './snapshot-taker';

/** How often a replica that does not lead tries to take over (a dead leader's lock goes with its session). */
const LEADERSHIP_POLL_MS = 2_000;

class StorageCloser implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE) private readonly db: Database,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
    private readonly snapshots: SnapshotTaker,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.snapshots.stop();
    await this.leadership.release();
    await this.db.close();
  }
}

/**
 * The shared machinery every capability reaches through: the store (SQLite or PostgreSQL, chosen by DATABASE_URL), the
 * event store, the three kinds of projection (inline, views, reactors), the stream hub, leadership and metrics.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CLOCK, useValue: config.schedulerClock === 'manual' ? new ManualClock(config.manualClockStart ?? undefined) : new SystemClock() },
        { provide: DATABASE, useFactory: () => openDatabase(config) },
        {
          provide: LEADERSHIP,
          inject: [DATABASE],
          useFactory: (db: Database) => db.leadership('jobs', LEADERSHIP_POLL_MS),
        },
        StorageCloser,
        KeyedMutex,
        StreamHub,
        NodesView,
        MembershipsView,
        MetricsService,
        { provide: NodeConfigView, inject: [StreamHub], useFactory: (hub: StreamHub) => new NodeConfigView((id) => hub.listening(id)) },
        {
          provide: EVENT_STORE,
          inject: [DATABASE],
          useFactory: (db: Database) => new SqlEventStore(db, { maxWaitMs: config.groupCommitMaxWaitMs }),
        },
        {
          provide: ViewFeeder,
          inject: [DATABASE, EVENT_STORE, NodesView, NodeConfigView, MembershipsView, StreamHub, MetricsService],
          useFactory: (db: Database, store: EventStore, nodes: NodesView, configs: NodeConfigView, memberships: MembershipsView, hub: StreamHub, metrics: MetricsService) =>
            new ViewFeeder(store, [nodes, configs, memberships], [new ConfigPushReactor(configs, hub, metrics)], db.dialect === 'postgres'),
        },
        { provide: ViewSnapshots, inject: [DATABASE, EVENT_STORE], useFactory: (db: Database, store: EventStore) => new ViewSnapshots(db, store) },
        {
          provide: ProjectionRunner,
          inject: [DATABASE, EVENT_STORE, ViewFeeder, ViewSnapshots, MetricsService],
          useFactory: async (db: Database, store: EventStore, feeder: ViewFeeder, snapshots: ViewSnapshots, metrics: MetricsService) => {
            const inline = new InlineProjections(db, store, [new DirectoryProjection(), new NodeIdentitiesProjection(), new ApiKeysProjection(), new AuditLogProjection(), new ReachabilityEventsProjection()]);
            const runner = new ProjectionRunner(db, store, inline, feeder, snapshots, (events, batchSize) => {
              metrics.appendBatchSize.observe(batchSize);
              for (const e of events) metrics.eventsAppended.inc({ type: e.type });
            });
            await runner.start();
            return runner;
          },
        },
        {
          provide: SnapshotTaker,
          inject: [ProjectionRunner, LEADERSHIP],
          useFactory: (runner: ProjectionRunner, leadership: Leadership) =>
            new SnapshotTaker(runner, leadership, config.snapshotEveryEvents, runner.startedFrom),
        },
        DirectoryReadModel,
        EnrollmentKeysReadModel,
        ApiKeysReadModel,
      ],
      exports: [
        APP_CONFIG, CLOCK, DATABASE, LEADERSHIP, EVENT_STORE, KeyedMutex, StreamHub, NodesView, NodeConfigView, MembershipsView,
        MetricsService, ViewFeeder, ProjectionRunner, DirectoryReadModel, EnrollmentKeysReadModel, ApiKeysReadModel,
      ],
    };
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { decideScheduleWindows, PolicyUpdated, policyEngine, RecordedEvent, streams } from '@meshgate/domain';
import { KeyedMutex } from '../common/keyed-mutex';
import { ConcurrencyError } from '../event-store/concurrency.error';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { NodeConfigView } from '../projections/node-config.view';
import { Reactor } from '../projections/view';
import { ViewFeeder } from '../projections/view-feeder';
import { LEADERSHIP, Leadership } from '../storage/database.port';
import { CLOCK, Clock } from './clock';

/** Re-check at least this often, so a suspended host or a changed zone database is caught up within a minute. */
const MAX_SLEEP_MS = 60_000;
const LOOKAHEAD_MS = 8 * 24 * 3600 * 1000;

/**
 * The wall clock enters the log here: when a named window of a tenant's policy opens or closes, this appends
 * ScheduleWindowOpened/Closed, and configs change on those events. It sleeps until the next boundary of any
 * tenant (at most a minute); with the manual clock it acts only when the test clock is set. Every replica plans (its
 * views hold every policy); only the leading one appends, and a new leader catches up at once.
 */
@Injectable()
export class ScheduleService implements OnApplicationBootstrap, OnApplicationShutdown, Reactor {
  private readonly logger = new Logger(ScheduleService.name);
  private readonly locks = new KeyedMutex();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Per tenant, the next boundary (ms) of its schedules: a PUT re-plans its own tenant, not every tenant. */
  private readonly nextBoundary = new Map<string, number>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly configs: NodeConfigView,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
    private readonly views: ViewFeeder,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.views.subscribe(this);
    await this.syncAll();
    this.leadership.onAcquired(() => void this.syncAll());
  }

  /** A policy changed, on whichever replica: its windows are re-planned (and, on the leader, opened or closed). */
  react(events: readonly RecordedEvent[]): void {
    const tenants = new Set<string>();
    for (const e of events) if (e.type === 'PolicyUpdated') tenants.add((e.data as PolicyUpdated['data']).tenantId);
    for (const tenantId of tenants) void this.syncTenant(tenantId);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Appends the window changes due now for every tenant with schedules; then sleeps until the next boundary. */
  async syncAll(): Promise<void> {
    this.nextBoundary.clear();
    for (const tenantId of this.configs.tenantsWithSchedules()) await this.syncTenant(tenantId, false);
    this.arm();
  }

  /** Appends the window changes due now for one tenant (after its policy changed, or at a boundary). */
  async syncTenant(tenantId: string, rearm = true): Promise<void> {
    await this.locks.run(tenantId, async () => {
      for (let attempt = 1; this.leadership.isLeader(); attempt++) {
        const p = this.configs.policyOf(tenantId);
        const events = decideScheduleWindows(tenantId, p.compiled.policy, p.open, this.clock.now());
        if (!events.length) break;
        try {
          await this.store.append({
            tenantId,
            streams: [{ streamId: streams.schedule(tenantId), expectedVersion: p.scheduleVersion, events }],
            metadata: { actor: { kind: 'system', id: 'scheduler' } },
          });
          break;
        } catch (error) {
          // Another replica appended the same windows: re-read and decide again (usually nothing is left to do).
          if (!(error instanceof ConcurrencyError) || attempt >= 3) {
            this.logger.error(`schedule sync for tenant ${tenantId} failed: ${(error as Error).message}`);
            break;
          }
          await this.views.catchUp();
        }
      }
      this.planNext(tenantId);
    });
    if (rearm) this.arm();
  }

  private planNext(tenantId: string): void {
    const now = this.clock.now().getTime();
    const schedules = this.configs.policyOf(tenantId).compiled.policy.schedules;
    const first = policyEngine.scheduleBoundaries(schedules, new Date(now + 1), new Date(now + LOOKAHEAD_MS))[0];
    if (first) this.nextBoundary.set(tenantId, first.at.getTime());
    else this.nextBoundary.delete(tenantId);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.clock.manual) return;
    const now = this.clock.now().getTime();
    const next = Math.min(now + MAX_SLEEP_MS, ...this.nextBoundary.values());
    this.timer = setTimeout(() => void this.syncAll(), Math.max(0, next - now) + 5);
    this.timer.unref();
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CheckpointSigned, checkpointMessage, RecordedEvent, streams } from '@meshgate/domain';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { Reactor } from '../projections/view';
import { ViewFeeder } from '../projections/view-feeder';
import { LEADERSHIP, Leadership } from '../storage/database.port';
import { keyIdOf, signText } from './checkpoint-signature';
import { CheckpointsReadModel } from './checkpoints.read-model';

/** How often the time limit is looked at (the count is looked at on every commit the views see). */
const POLL_MS = 1_000;

export interface CheckpointLimits { everyEvents: number; everyMinutes: number }

/**
 * Whether a checkpoint is due: something besides the last checkpoint itself was appended since it, and either
 * `everyEvents` positions or `everyMinutes` have passed. `last`: where the last checkpoint sits and when (epoch ms).
 */
export function checkpointDue(last: { eventPosition: number; at: number }, head: number, now: number, limits: CheckpointLimits): boolean {
  if (head <= last.eventPosition) return false;
  return head - last.eventPosition >= limits.everyEvents || now - last.at >= limits.everyMinutes * 60_000;
}

/**
 * Signs the log's head (position and chain hash) with the checkpoint key and appends it as `CheckpointSigned` once
 * CHECKPOINT_EVERY_EVENTS events were appended since the last checkpoint, or CHECKPOINT_EVERY_MINUTES after it if
 * anything was. Only the leading replica signs (the others would race it for the stream's next version: a replica
 * that loses gets 409 and reads the stream again). The time is the wall clock's, as for snapshots: it is the
 * cadence of a job, not a fact of the domain (a test moving the scheduler's clock does not sign checkpoints).
 */
@Injectable()
export class CheckpointSigner implements Reactor, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CheckpointSigner.name);
  private readonly keyId: string;
  /** The newest checkpoint: where it sits, its stream version, and when (ms); null until read from the log. */
  private last: { eventPosition: number; version: number; at: number } | null = null;
  private signing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly checkpoints: CheckpointsReadModel,
    private readonly views: ViewFeeder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {
    this.keyId = keyIdOf(config.checkpointSigningKey);
  }

  onApplicationBootstrap(): void {
    this.views.subscribe(this);
    this.timer = setInterval(() => this.check(), POLL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.signing;
  }

  react(events: readonly RecordedEvent[]): void {
    if (events.length > 0) this.check();
  }

  private check(): void {
    if (this.signing || !this.leadership.isLeader()) return;
    // Decided on what the views have seen (every replica's commits); the head is read only once a limit is reached.
    if (this.last && !checkpointDue(this.last, this.views.position, Date.now(), this.limits)) return;
    this.signing = this.sign().finally(() => (this.signing = null));
  }

  private get limits(): CheckpointLimits {
    return { everyEvents: this.config.checkpointEveryEvents, everyMinutes: this.config.checkpointEveryMinutes };
  }

  private async sign(): Promise<void> {
    try {
      if (!this.last) {
        const { view, version } = await this.checkpoints.latest();
        this.last = { eventPosition: view?.eventPosition ?? 0, version, at: view ? Date.parse(view.at) : Date.now() };
      }
      const last = this.last;
      const head = await this.store.head();
      if (!checkpointDue(last, head.position, Date.now(), this.limits)) return;
      const data: CheckpointSigned['data'] = {
        position: head.position, hash: head.hash, keyId: this.keyId,
        signature: signText(this.config.checkpointSigningKey, checkpointMessage(head.position, head.hash)),
      };
      const [event] = await this.store.append({
        tenantId: null,
        streams: [{ streamId: streams.checkpoints(), expectedVersion: last.version, events: [{ type: 'CheckpointSigned', data }] }],
        metadata: { actor: { kind: 'system', id: 'checkpoint-signer' } },
      });
      this.last = { eventPosition: event.position, version: event.streamVersion, at: Date.now() };
    } catch (error) {
      // Another replica signed first (409), or the store failed: read the stream again next time.
      this.last = null;
      this.logger.warn(`checkpoint not signed: ${(error as Error).message}`);
    }
  }
}

import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideEnrollmentKey, DomainError, streams } from '@meshgate/domain';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { EnrollmentKeysReadModel } from '../enrollment-keys.read-model';
import { RevokeEnrollmentKeyCommand } from './revoke-enrollment-key.command';

@CommandHandler(RevokeEnrollmentKeyCommand)
export class RevokeEnrollmentKeyHandler implements ICommandHandler<RevokeEnrollmentKeyCommand, void> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly keys: EnrollmentKeysReadModel,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ tenantId, keyId, meta }: RevokeEnrollmentKeyCommand): Promise<void> {
    const key = await this.keys.find(keyId);
    if (!key || key.tenantId !== tenantId) throw new DomainError('ENROLLMENT_KEY_NOT_FOUND', 'NOT_FOUND', 'enrollment key not found');
    const events = decideEnrollmentKey({ type: 'RevokeEnrollmentKey' }, key.state, { now: this.clock.now() });
    if (events.length === 0) return;
    await this.store.append({ tenantId, streams: [{ streamId: streams.enrollmentKey(keyId), expectedVersion: key.version, events }], metadata: meta });
  }
}

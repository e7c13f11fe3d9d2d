import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { decideEnrollmentKey, EnrollmentKeyCreated as Created, initialEnrollmentKeyState, streams } from '@meshgate/domain';
import type { EnrollmentKeyCreated } from '@meshgate/contracts';
import { ENROLLMENT_KEY_PREFIX, formatCredential, hashSecret, newSecret } from '../../auth/secrets';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { NodeConfigView } from '../../projections/node-config.view';
import { CreateEnrollmentKeyCommand } from './create-enrollment-key.command';

@CommandHandler(CreateEnrollmentKeyCommand)
export class CreateEnrollmentKeyHandler implements ICommandHandler<CreateEnrollmentKeyCommand, EnrollmentKeyCreated> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly configs: NodeConfigView,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ tenantId, dto, meta, creator }: CreateEnrollmentKeyCommand): Promise<EnrollmentKeyCreated> {
    // The creator's user id and role, whatever kind of principal carries them (a user token, or a key acting for a role).
    const userId = creator && 'userId' in creator ? creator.userId : undefined;
    const role = creator && 'role' in creator ? creator.role ?? undefined : undefined;
    const keyId = randomUUID();
    const secret = newSecret();
    const events = decideEnrollmentKey({
      type: 'CreateEnrollmentKey', keyId, tenantId, secretHash: hashSecret(secret), reusable: dto.reusable ?? false,
      expiresInSeconds: dto.expiresInSeconds, tags: dto.tags ?? [], ephemeral: dto.ephemeral ?? false,
      ...(userId !== undefined ? { createdBy: userId } : {}), tagOwnership: this.configs.tagOwnershipOf(tenantId, { userId, role }),
    }, initialEnrollmentKeyState, { now: this.clock.now() });
    await this.store.append({ tenantId, streams: [{ streamId: streams.enrollmentKey(keyId), expectedVersion: 0, events }], metadata: meta });
    const created = (events[0] as Created).data;
    // The only time the key is shown: only its hash is stored.
    return { id: keyId, key: formatCredential(ENROLLMENT_KEY_PREFIX, keyId, secret), reusable: created.reusable, expiresAt: created.expiresAt, tags: created.tags,
      ephemeral: created.ephemeral === true };
  }
}

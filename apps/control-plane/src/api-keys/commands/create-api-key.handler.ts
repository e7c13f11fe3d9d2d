import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { ApiKeyCreated, decideApiKey, initialApiKeyState, streams } from '@meshgate/domain';
import type { ApiKeyCreatedView } from '@meshgate/contracts';
import { API_KEY_PREFIX, formatCredential, hashSecret, newSecret } from '../../auth/secrets';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { CreateApiKeyCommand } from './create-api-key.command';

@CommandHandler(CreateApiKeyCommand)
export class CreateApiKeyHandler implements ICommandHandler<CreateApiKeyCommand, ApiKeyCreatedView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, @Inject(CLOCK) private readonly clock: Clock) {}

  async execute({ tenantId, createdBy, actorRole, dto, meta }: CreateApiKeyCommand): Promise<ApiKeyCreatedView> {
    const keyId = randomUUID();
    const secret = newSecret();
    const events = decideApiKey({
      type: 'CreateApiKey', keyId, tenantId, description: dto.description, role: dto.role, secretHash: hashSecret(secret), createdBy,
      actorRole, expiresInDays: dto.expiresInDays,
    }, initialApiKeyState, { now: this.clock.now() });
    await this.store.append({ tenantId, streams: [{ streamId: streams.apiKey(keyId), expectedVersion: 0, events }], metadata: meta });
    const created = (events[0] as ApiKeyCreated).data;
    // The only time the key is shown: only its hash is stored.
    return { id: keyId, key: formatCredential(API_KEY_PREFIX, keyId, secret), description: created.description, role: created.role, expiresAt: created.expiresAt };
  }
}

import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideApiKey, DomainError, streams } from '@meshgate/domain';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { CLOCK, Clock } from '../../policies/clock';
import { ApiKeysReadModel } from '../api-keys.read-model';
import { RevokeApiKeyCommand } from './revoke-api-key.command';

/** Revokes a key of the caller's tenant: from the next request that presents it, it is refused (401). */
@CommandHandler(RevokeApiKeyCommand)
export class RevokeApiKeyHandler implements ICommandHandler<RevokeApiKeyCommand, void> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly keys: ApiKeysReadModel,
  ) {}

  async execute({ tenantId, keyId, actorRole, meta }: RevokeApiKeyCommand): Promise<void> {
    const key = await this.keys.find(keyId);
    // Another tenant's key is as unknown as a key that never existed.
    if (!key || key.tenantId !== tenantId) throw new DomainError('API_KEY_NOT_FOUND', 'NOT_FOUND', 'API key not found');
    const events = decideApiKey({ type: 'RevokeApiKey', actorRole }, key.state, { now: this.clock.now() });
    if (events.length === 0) return;
    await this.store.append({ tenantId, streams: [{ streamId: streams.apiKey(keyId), expectedVersion: key.version, events }], metadata: meta });
  }
}
